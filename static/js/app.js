// ES module (load with <script type="module">): govuk-frontend.min.js ends in `export {...}`,
// and an external module satisfies script-src 'self'.
import { initAll } from '../vendor/govuk/govuk-frontend.min.js'

// GOV.UK Frontend reports failures with console.log by default. Report them with console.error
// so the browser tests (which fail on any console error) catch a component that did not start.
// "Already initialised" is expected: a swap into a container re-scans components that were
// started before (e.g. hx-swap="beforeend"), and GOV.UK Frontend refuses to start them twice.
function onError (error) {
  if (error && error.name === 'InitError' && /already initialised/.test(error.message)) {
    return
  }
  console.error(error)
}

// The accordion remembers open sections in sessionStorage by default; SECURITY.md check 20 wants
// browser storage left empty, so it is switched off for every accordion.
const config = { onError, accordion: { rememberExpanded: false } }

initAll(config)

// SECURITY.md check 20 wants browser storage left empty too. htmx 2 writes the current URL to
// sessionStorage key 'htmx-current-path-for-history' when it loads and at each history update, whatever
// its config says (historyEnabled: false would not stop it, and would stop the hx-push-url of the
// filters). htmx reads the key back only to save the page into its history cache, which is off
// (historyCacheSize 0), and keeps its own copy of the path besides: remove the key after each write.
// htmx ran before this module (both are deferred, in document order) and fires these events right
// after it writes.
function forgetHtmxPath () {
  try {
    sessionStorage.removeItem('htmx-current-path-for-history')
  } catch (e) {} // storage switched off: nothing was written
}
forgetHtmxPath()
for (const name of ['htmx:pushedIntoHistory', 'htmx:replacedInHistory', 'htmx:historyRestore']) {
  document.addEventListener(name, forgetHtmxPath)
}

// Focus a GOV.UK error summary that arrived in a swap, as a full page load would: screen reader
// users hear the errors, keyboard users start from the list of links to the fields.
// The ErrorSummary component already does this when it starts; this covers summaries without
// data-module and repeats it after htmx restores focus to the element that made the request.
function focusErrorSummary (elt) {
  const summary = elt.matches('.govuk-error-summary') ? elt : elt.querySelector('.govuk-error-summary')
  if (!summary || summary.dataset.disableAutoFocus === 'true' || summary.contains(document.activeElement)) {
    return
  }
  if (!summary.hasAttribute('tabindex')) {
    summary.setAttribute('tabindex', '-1')
    summary.addEventListener('blur', () => summary.removeAttribute('tabindex'), { once: true })
  }
  summary.focus()
}

// htmx fires afterSettle on each element it settled (evt.target, also evt.detail.elt while the
// event is dispatched): the swap target for innerHTML/beforeend swaps, or each new top-level
// element for outerHTML swaps.
document.addEventListener('htmx:afterSettle', (evt) => {
  const elt = evt.target
  if (!(elt instanceof Element) || !elt.isConnected) {
    return
  }
  const isModule = elt.matches('[data-module]')
  if (isModule || elt.querySelector('[data-module]')) {
    // initAll searches the scope's descendants only, so a swapped-in element that is itself a
    // component (outerHTML swap) is found by searching from its parent instead.
    initAll({ ...config, scope: isModule && elt.parentElement ? elt.parentElement : elt })
  }
  focusErrorSummary(elt)
})

// When a swap removes the element that had focus (the button of a row replaced by its new state, a
// form inside the region it refreshes), the browser puts focus back on <body> and a keyboard user
// starts again from the top of the page. Move it to the new content instead: the first field with an
// error (its label and error message are read out), else its status message, else the swapped element
// itself (the meeting screen's data-focus-after-swap, where a page marks its own choice, comes first). Only for the request's own target, not for out-of-band updates, and after the handlers
// above (error summary, the meeting screen's form).
document.addEventListener('htmx:afterSettle', (evt) => {
  const elt = evt.target
  const target = evt.detail && evt.detail.target
  if (!(elt instanceof Element) || !elt.isConnected || !target || (target !== elt && (!elt.id || target.id !== elt.id))) {
    return
  }
  if (elt.querySelector('.govuk-error-summary')) {
    return // focusErrorSummary has focused it
  }
  const active = document.activeElement
  const lost = !active || active === document.body || !active.isConnected
  // A form sent back with an error: its first wrong field, even where htmx has put focus back on the
  // button that sent it (a button with an id keeps focus across the swap).
  const wrong = elt.querySelector('.govuk-form-group--error :is(input:not([type=hidden]), select, textarea)')
  if (!lost && !(wrong && elt.contains(active))) {
    return
  }
  const into = wrong || elt.querySelector('[data-focus-after-swap], [role=status], [role=alert]') || elt
  if (!into.matches('a[href], button, input, select, textarea, [tabindex]')) {
    into.setAttribute('tabindex', '-1')
    into.addEventListener('blur', () => into.removeAttribute('tabindex'), { once: true })
  }
  into.focus()
})

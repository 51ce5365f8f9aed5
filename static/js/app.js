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

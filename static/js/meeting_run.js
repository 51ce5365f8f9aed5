// The meeting screens (issue 6): the case timer, autosave status when the connection drops, focus
// after an action is added in place, and the print button. Everything here is an enhancement: the
// pages show the same times as static text and save through real forms without JavaScript.
// No eval, no inline handlers (the CSP forbids them).
(function () {
  'use strict'

  const clock = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'Europe/London'
  })
  let skew = 0 // server time minus browser time, from the page's data-now

  function plural (n) {
    return n === 1 ? 'minute' : 'minutes'
  }

  // A timer element carries data-started (ms, the case being heard), data-minutes (its allowance),
  // data-after (minutes of the cases still waiting) and data-running ("1" while the meeting runs).
  function updateTimer (el) {
    const now = Date.now() + skew
    const started = Number(el.dataset.started || 0)
    const allowed = Number(el.dataset.minutes || 0)
    const after = Number(el.dataset.after || 0)
    let left = 0
    if (started) {
      const elapsed = Math.max(0, Math.floor((now - started) / 60000))
      const out = el.querySelector('[data-timer-elapsed]')
      if (out) {
        out.textContent = elapsed + ' ' + plural(elapsed)
        out.classList.toggle('marac-timer__over', elapsed > allowed)
      }
      left = Math.max(0, allowed - elapsed)
    }
    const finish = el.querySelector('[data-timer-finish]')
    if (finish && el.dataset.running === '1') {
      finish.textContent = clock.format(new Date(now + (left + after) * 60000))
    }
  }

  function tick () {
    document.querySelectorAll('[data-timer]').forEach(updateTimer)
  }

  // --- autosave: say so when a save did not reach the server, and send it again when back online
  function statusText (text) {
    const status = document.getElementById('save-status')
    if (status) {
      status.textContent = text
    }
  }

  function autosaveForm (evt) {
    const elt = evt.detail && evt.detail.elt
    return elt && elt.closest ? elt.closest('form[data-autosave]') : null
  }

  function failed (evt) {
    const form = autosaveForm(evt)
    if (!form) {
      return
    }
    form.dataset.unsaved = '1'
    statusText('Not saved: the connection to the server was lost. What you typed is still on this page ' +
               'and is saved again when the connection is back.')
  }

  function retry () {
    document.querySelectorAll('form[data-autosave][data-unsaved]').forEach(function (form) {
      if (window.htmx) {
        window.htmx.trigger(form, 'submit')
      }
    })
  }

  document.addEventListener('htmx:sendError', failed)
  document.addEventListener('htmx:responseError', failed)
  document.addEventListener('htmx:afterRequest', function (evt) {
    const form = autosaveForm(evt)
    if (form && evt.detail.successful) {
      delete form.dataset.unsaved
    }
  })
  window.addEventListener('online', retry)
  window.setInterval(retry, 30000)
  window.addEventListener('beforeunload', function (evt) {
    if (document.querySelector('form[data-autosave][data-unsaved]')) {
      evt.preventDefault()
      evt.returnValue = ''
    }
  })

  // --- after an action is added in place, start the next one from its first field
  document.addEventListener('htmx:afterSettle', function (evt) {
    const target = evt.target
    if (!(target instanceof Element) || target.id !== 'case-actions' || !target.isConnected) {
      return
    }
    if (target.querySelector('.govuk-error-summary, .govuk-error-message')) {
      return // app.js focuses the error summary
    }
    const first = target.querySelector('.marac-action-form select, .marac-action-form textarea')
    const source = evt.detail && evt.detail.requestConfig && evt.detail.requestConfig.elt
    if (first && source && source.classList && source.classList.contains('marac-action-form')) {
      first.focus()
    }
  })

  function start () {
    const timer = document.querySelector('[data-timer][data-now]')
    if (timer) {
      skew = Number(timer.dataset.now) - Date.now()
    }
    tick()
    window.setInterval(tick, 15000)
    document.querySelectorAll('[data-print]').forEach(function (button) {
      button.classList.remove('marac-hidden')
      button.addEventListener('click', function () { window.print() })
    })
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()

// External copy of GOV.UK Frontend's inline <body> snippet: an inline script is blocked by our
// CSP (script-src 'self'). Load it synchronously as the first child of <body> so JavaScript-
// enhanced components do not flash; initAll() refuses to run without govuk-frontend-supported.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '')

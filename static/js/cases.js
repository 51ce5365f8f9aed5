// Case page: after "Show older entries" loads the next page of the timeline, move focus to its
// first entry (the link that had focus is gone), so keyboard and screen reader users carry on
// reading from there.
document.addEventListener('htmx:afterSettle', (evt) => {
  const elt = evt.target
  if (!(elt instanceof Element) || !elt.isConnected || !elt.matches('.marac-timeline__page')) {
    return
  }
  const first = elt.querySelector('.marac-timeline__entry')
  if (first) {
    first.focus()
  }
})

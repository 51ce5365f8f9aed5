// The agenda board (templates/meetings/board.html). Without JavaScript the board still works: the
// Move up / Move down buttons are real form buttons. With it:
//  - cases can be dragged by their handle (SortableJS, vendored); dropping one submits the board's
//    form, whose hidden `order` inputs are now in the new order, so htmx posts it and swaps in the
//    updated agenda (timings, counts, announcement);
//  - after a Move up / Move down swap, focus goes back to the same case's button, so a keyboard user
//    can keep moving it;
//  - a Print button appears on the circulated agenda page.
(function () {
  'use strict'

  let lastMove = null

  function initSortable (root) {
    if (typeof window.Sortable === 'undefined' || !root || !root.querySelectorAll) {
      return
    }
    root.querySelectorAll('[data-board-sortable]').forEach(function (tbody) {
      if (tbody.dataset.sortableReady === 'true') {
        return
      }
      tbody.dataset.sortableReady = 'true'
      window.Sortable.create(tbody, {
        handle: '.marac-drag-handle',
        draggable: 'tr[data-listing-id]',
        // Mouse events rather than native drag and drop: the same in every browser and in tests.
        forceFallback: true,
        ghostClass: 'marac-sortable-ghost',
        chosenClass: 'marac-sortable-chosen',
        onEnd: function (evt) {
          if (evt.oldIndex === evt.newIndex) {
            return
          }
          const form = tbody.closest('form')
          if (form) {
            lastMove = null
            form.requestSubmit()
          }
        }
      })
    })
  }

  function initPrint (root) {
    if (!root || !root.querySelectorAll) {
      return
    }
    root.querySelectorAll('[data-print]').forEach(function (button) {
      button.hidden = false
      button.addEventListener('click', function () { window.print() })
    })
  }

  document.addEventListener('click', function (evt) {
    const button = evt.target instanceof Element ? evt.target.closest('button[name="move"]') : null
    lastMove = button ? button.value : null
  })

  document.addEventListener('htmx:afterSettle', function (evt) {
    const agenda = document.getElementById('agenda')
    if (!lastMove || !agenda || !(evt.target instanceof Element) || !evt.target.contains(agenda)) {
      if (evt.target === agenda) {
        initSortable(agenda)
      }
      return
    }
    initSortable(agenda)
    const id = lastMove.split(':')[0]
    const same = agenda.querySelector('button[name="move"][value="' + lastMove + '"]')
    const other = agenda.querySelector('button[name="move"][value^="' + id + ':"]')
    const target = same || other
    if (target) {
      target.focus()
    }
    lastMove = null
  })

  document.addEventListener('htmx:load', function (evt) {
    initSortable(evt.detail.elt)
  })

  document.addEventListener('DOMContentLoaded', function () {
    initSortable(document)
    initPrint(document)
  })
})()

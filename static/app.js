// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // <form data-confirm="..."> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // <button data-copy="element-id"> copies that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
    if (!button || !navigator.clipboard) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();

// Composer suggestions: a suggestion (button[data-insert], fetched by htmx
// while "/shortcode" or "@name" is typed) replaces what was typed in the
// reply box; Tab takes the first one.
(function () {
  "use strict";
  var typed = /(^|\s)[\/@][^\s\/@]*$/;

  function insert(button) {
    var form = button.closest("form");
    var box = form && form.querySelector("textarea[name=text]");
    if (!box) return;
    box.value = box.value.replace(typed, function (_, space) { return space + button.dataset.insert; });
    var slot = button.closest(".suggestion-slot");
    if (slot) slot.innerHTML = "";
    box.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-insert]") : null;
    if (button) insert(button);
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Tab" || !(box instanceof HTMLTextAreaElement) || !typed.test(box.value)) return;
    var form = box.closest("form");
    var first = form && form.querySelector(".suggestion-slot button[data-insert]");
    if (first) {
      event.preventDefault();
      insert(first);
    }
  });
})();

// Keyboard shortcuts, ignored while typing: an element with
// data-shortcut="key" is focused (fields) or clicked (buttons); j/k move
// through the inbox's conversation list.
(function () {
  "use strict";

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function move(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".conversations li > a"));
    if (!links.length) return;
    var current = links.findIndex(function (a) { return a.parentElement.classList.contains("current"); });
    var next = current < 0 ? 0 : Math.min(Math.max(current + step, 0), links.length - 1);
    // A click, so htmx loads only the conversation (a plain link without it).
    if (next !== current) links[next].click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "j") { move(1); return; }
    if (event.key === "k") { move(-1); return; }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (!target) return;
    event.preventDefault();
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) target.focus();
    else target.click();
  });
})();

// The inbox: picking a conversation swaps only the panes beside the list
// (htmx), so the list marks the open one itself, after every swap (the
// list's live refresh included); opening it has read it.
(function () {
  "use strict";

  function markOpen() {
    var panes = document.getElementById("panes");
    if (!panes) return;
    var open = panes.getAttribute("data-open");
    document.querySelectorAll(".conversations li").forEach(function (li) {
      var link = li.querySelector("a[data-conversation]");
      var current = !!link && link.getAttribute("data-conversation") === open;
      li.classList.toggle("current", current);
      if (current) {
        li.classList.remove("unread");
        var badge = li.querySelector(".badge");
        if (badge) badge.remove();
      }
    });
  }

  document.addEventListener("htmx:afterSettle", markOpen);
})();

// The open conversation shows its newest message: on opening, and as
// messages arrive unless the agent has scrolled up to read; a message
// named in the address (a search result) is shown instead.
(function () {
  "use strict";
  var before = null;

  // The pane that scrolls (the list of messages inside it does not).
  function messages() { return document.querySelector("#panes #messages"); }
  function openId() {
    var panes = document.getElementById("panes");
    return panes ? panes.getAttribute("data-open") : null;
  }
  function atBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 40; }

  function follow() {
    var list = messages();
    if (!list) return;
    var named = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (named && list.contains(named)) {
      named.scrollIntoView({ block: "center" });
    } else if (!before || before.open !== openId() || before.pinned) {
      list.scrollTop = list.scrollHeight;
    }
    before = null;
  }

  document.addEventListener("htmx:beforeSwap", function () {
    var list = messages();
    before = { open: openId(), pinned: !list || atBottom(list) };
  });
  document.addEventListener("htmx:afterSettle", follow);
  document.addEventListener("DOMContentLoaded", follow);
})();

// The deals board: a card dragged onto another stage's column submits the
// card's own stage form (the form is what works without JS); a lost stage
// asks why first.
(function () {
  "use strict";
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target instanceof Element ? event.target.closest(".deal-card") : null;
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".board-column.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target instanceof Element ? event.target.closest(".board-column") : null;
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target instanceof Element ? event.target.closest(".board-column") : null;
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = dragged && event.target instanceof Element ? event.target.closest(".board-column") : null;
    if (!column) return;
    event.preventDefault();
    var form = dragged.querySelector("form.deal-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select || select.value === column.dataset.stage) return;
    var reason = form.querySelector("input[name=lost_reason]");
    if (column.dataset.outcome === "lost") {
      var why = window.prompt("Why was this deal lost?", reason.value);
      if (!why || !why.trim()) return;
      reason.value = why.trim();
    }
    select.value = column.dataset.stage;
    column.appendChild(dragged);
    form.submit();
  });
})();

// The app shell: Escape closes the phone's menu sheet (opened as
// #sidebar) and any open menu; a click elsewhere closes open menus.
(function () {
  "use strict";

  function closeMenus(except) {
    document.querySelectorAll("details.switcher[open], details.user-menu[open]").forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    closeMenus(null);
    if (location.hash === "#sidebar") location.hash = "";
  });

  document.addEventListener("click", function (event) {
    var inside = event.target instanceof Element ? event.target.closest("details.switcher, details.user-menu") : null;
    closeMenus(inside);
  });
})();

// The inbox's contact panel: the header's contact button hides or shows it
// beside the conversation (remembered in this browser), or opens it over the
// conversation where the screen is narrower. Without JavaScript the button
// is a link to the contact's page.
(function () {
  "use strict";
  var KEY = "wacrm.contactPanel";

  function inbox() { return document.querySelector(".inbox"); }

  function apply() {
    var box = inbox();
    if (box) box.classList.toggle("contact-hidden", localStorage.getItem(KEY) === "hidden");
  }

  document.addEventListener("DOMContentLoaded", apply);

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-toggle-panel]") : null;
    var box = inbox();
    if (!button || !box) return;
    event.preventDefault();
    if (window.matchMedia("(min-width: 1280px)").matches) {
      var hidden = box.classList.toggle("contact-hidden");
      localStorage.setItem(KEY, hidden ? "hidden" : "shown");
    } else {
      box.classList.toggle("contact-open");
    }
  });
})();

// Bulk actions: the bar says how many are ticked, and a live refresh of
// the list keeps the ticks.
(function () {
  "use strict";
  var ticked = [];

  function count() {
    var label = document.querySelector("[data-bulk-count]");
    if (!label) return;
    var n = document.querySelectorAll("input.pick:checked").length;
    label.textContent = n === 1 ? "1 ticked" : n + " ticked";
  }

  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.classList.contains("pick")) count();
  });
  document.addEventListener("htmx:beforeSwap", function () {
    ticked = Array.prototype.map.call(document.querySelectorAll("input.pick:checked"), function (box) { return box.value; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    ticked.forEach(function (id) {
      var box = document.querySelector('input.pick[value="' + CSS.escape(id) + '"]');
      if (box) box.checked = true;
    });
    count();
  });
})();

// While the inbox is open, the tab's title counts the unread conversations
// in the list, and a short tone plays when a refresh brings more (once the
// person has touched the page: browsers allow sound only then).
(function () {
  "use strict";
  var base = document.title.replace(/^\(\d+\) /, "");
  var last = null;

  function tone() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      var ctx = new Context();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.05;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
      osc.onended = function () { ctx.close(); };
    } catch (e) { /* no sound where audio is off */ }
  }

  function update() {
    if (!document.querySelector(".conversations")) return;
    var unread = document.querySelectorAll(".conversations li.unread").length;
    document.title = unread ? "(" + unread + ") " + base : base;
    if (last !== null && unread > last) tone();
    last = unread;
  }

  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSettle", update);
})();

// Installable: the service worker (served from the root, so it covers every
// page) lets browsers offer "Add to home screen".
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* not installable here */ });
  });
}

/*
 * "Calendari de terminis": the catalogue's application windows on a year-long axis, the
 * open ones first (closing soonest first), then those opening soon. Window states and
 * their words come from the server's cards (GET /api/cards, on the reference date); this
 * file only places them. Bars are positioned through the CSSOM (no style attributes,
 * so a strict Content-Security-Policy allows them) and hidden from screen readers, which
 * read each row's words instead.
 */
(function () {
  "use strict";

  var staff = window.concertaStaff;
  if (!staff) return;
  var el = staff.el;
  var form = document.getElementById("timeline-form");
  var view = document.getElementById("timeline-view");
  var status = document.getElementById("timeline-status");
  var board = document.getElementById("timeline");
  var SOON_DAYS = 60;
  var MONTHS = ["gen.", "febr.", "març", "abr.", "maig", "juny", "jul.", "ag.", "set.", "oct.", "nov.", "des."];
  var GROUPS = [
    ["open", "Oberts ara"],
    ["upcoming", "S'obren aviat"],
    ["closed", "Tancats"]
  ];
  var latest = 0;
  var inFlight = null;

  function day(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
  }

  function params(mode) {
    var query = new URLSearchParams();
    ["tipologia", "area", "destinataris"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) query.set(name, value);
    });
    (mode === "all" ? ["open", "upcoming", "closed", "all_year", "no_application"] : ["open", "upcoming", "all_year"])
      .forEach(function (state) { query.append("state", state); });
    return query;
  }

  function axis(year) {
    var row = el("div", "tl-axis");
    row.setAttribute("aria-hidden", "true");
    row.appendChild(el("span", "tl-label"));
    var track = el("div", "tl-track");
    MONTHS.forEach(function (name, month) {
      var tick = el("span", "tl-month", name);
      var start = (Date.UTC(year, month, 1) - Date.UTC(year, 0, 1)) / (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1));
      tick.style.left = (start * 100).toFixed(2) + "%";
      track.appendChild(tick);
    });
    row.appendChild(track);
    return row;
  }

  function row(card, year, today) {
    var yearStart = Date.UTC(year, 0, 1);
    var span = Date.UTC(year + 1, 0, 1) - yearStart;
    var item = el("li", "tl-row tl-" + card.window.state);
    item.setAttribute("data-codi", card.codi);
    var label = el("div", "tl-label");
    var href = card.url ? staff.safeUrl(card.url) : null;
    var title = el(href ? "a" : "span", "tl-title", card.title);
    if (href) {
      title.href = href;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
      title.appendChild(el("span", "sr-only", " (s'obre en una finestra nova)"));
    }
    label.appendChild(title);
    label.appendChild(el("span", "tl-meta", "Codi " + card.codi + " · " + card.window.text +
      (card.area ? " · " + card.area : "")));
    item.appendChild(label);
    var track = el("div", "tl-track");
    track.setAttribute("aria-hidden", "true");
    var opens = day(card.window.opens);
    var closes = day(card.window.closes);
    if (opens !== null && closes !== null) {
      var left = Math.max(0, (opens - yearStart) / span);
      var right = Math.min(1, (closes + 86400000 - yearStart) / span);
      var bar = el("span", "tl-bar");
      bar.style.left = (left * 100).toFixed(2) + "%";
      bar.style.width = (Math.max(right - left, 0.004) * 100).toFixed(2) + "%";
      track.appendChild(bar);
    }
    if (today !== null) {
      var marker = el("span", "tl-today");
      marker.style.left = (((today - yearStart) / span) * 100).toFixed(2) + "%";
      track.appendChild(marker);
    }
    item.appendChild(track);
    return item;
  }

  function draw(body, mode) {
    var ref = body.reference_date || {};
    var today = day(ref.date);
    var year = today !== null ? new Date(today).getUTCFullYear() : new Date().getUTCFullYear();
    var cards = body.cards || [];
    var dated = cards.filter(function (c) { return c.window.opens && c.window.closes && c.window.state !== "all_year"; });
    var allYear = cards.filter(function (c) { return c.window.state === "all_year"; });
    var noApplication = cards.filter(function (c) { return c.window.state === "no_application"; });
    if (mode !== "all" && today !== null) {
      var horizon = today + SOON_DAYS * 86400000;
      dated = dated.filter(function (c) { return c.window.state !== "upcoming" || day(c.window.opens) <= horizon; });
    }
    board.textContent = "";
    var shown = 0;
    board.appendChild(axis(year));
    GROUPS.forEach(function (group) {
      var members = dated.filter(function (c) { return c.window.state === group[0]; });
      if (!members.length) return;
      shown += members.length;
      var section = el("section", "tl-group tl-group-" + group[0]);
      var heading = el("h3", null, group[1] + " (" + members.length + ")");
      heading.id = "tl-heading-" + group[0];
      section.setAttribute("aria-labelledby", heading.id);
      section.appendChild(heading);
      var rows = el("ul", "tl-rows");
      members.forEach(function (card) { rows.appendChild(row(card, year, today)); });
      section.appendChild(rows);
      board.appendChild(section);
    });
    var notes = [];
    if (allYear.length) notes.push(allYear.length + " recursos més es poden sol·licitar tot l'any");
    if (noApplication.length) notes.push(noApplication.length + " fons de prestació no necessiten sol·licitud");
    if (notes.length) board.appendChild(el("p", "tl-note", notes.join("; ") + "."));
    var when = ref.text ? " a " + ref.text : "";
    status.classList.remove("error");
    status.textContent = shown === 0 ? "Cap termini" + when + " amb aquests filtres." :
      (shown === 1 ? "1 termini" : shown + " terminis") + (mode === "all" ? " de l'any" : " oberts o propers") + when + ".";
  }

  function render() {
    if (view.hidden) return;
    var mode = form.elements.mode.value;
    var seq = ++latest;
    if (inFlight) inFlight.abort();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    inFlight = controller;
    board.setAttribute("aria-busy", "true");
    status.textContent = "Carregant els terminis…";
    staff.ready.then(function () {
      if (seq !== latest) return null;
      return staff.getJson("/api/cards?" + params(mode).toString(), controller ? controller.signal : undefined);
    }).then(function (body) {
      if (seq !== latest || !body) return;
      draw(body, mode);
    }).catch(function () {
      if (seq !== latest) return; // aborted or overtaken by a newer request
      board.textContent = "";
      status.classList.add("error");
      status.textContent = "No s'han pogut carregar els terminis. Torneu-ho a provar.";
    }).then(function () {
      if (seq !== latest) return;
      inFlight = null;
      board.removeAttribute("aria-busy");
    });
  }

  form.addEventListener("change", render);
  form.addEventListener("submit", function (event) { event.preventDefault(); render(); });
  staff.onTimeline = render;
  if (!view.hidden) render();
})();

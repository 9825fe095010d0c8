/*
 * Staff search page: POST /api/search with the query and the chosen filters, and render
 * the relevant hits as cards. Text from the server is only ever set with textContent.
 * The query, the filters and the view are mirrored in the address, so a search can be
 * shared by link. The filters' values and counts come from the index (GET /api/facets),
 * "Obert ara" and the windows on the cards from the server's reference date
 * (GET /api/reference-date, GET /api/cards). timeline.js draws the "Calendari de
 * terminis" view with what this file shares on window.concertaStaff.
 */
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  var query = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("result-list");
  var counts = document.getElementById("facet-counts");
  var filtersBox = document.getElementById("filters-box");
  var FILTERS = ["kind", "tipologia", "classe", "area", "destinataris"];
  var KIND_LABELS = { recurs: "Recurs del catàleg", normativa: "Normativa", faq: "Pregunta freqüent" };
  var KIND_PLURALS = { recurs: "Recursos del catàleg", normativa: "Normativa", faq: "Preguntes freqüents" };
  var TOP_K = 20;
  // The relevance cut-off (bench/calibrate_staff_cutoff.py, development questions): a
  // result is shown when some result shares a word with the query (its sparse score is
  // above 0; otherwise nothing is relevant: "xyzzy qwerty") and its fused score is at
  // least MIN_SHARE of the best one. 0.40 kept 98.4% of the gold results found in the 20
  // on the tuning half (99.1% on the check half) and dropped a third of the others;
  // 0.45 loses 4.7% of the gold, 0.35 drops only a sixth of the rest.
  var RELEVANCE = { MIN_SHARE: 0.40 };
  var SNIPPET = { MIN: 160, MAX: 340 };
  // Words too common to highlight.
  var STOPWORDS = ["per", "amb", "els", "les", "del", "dels", "una", "uns", "que", "com", "hi",
    "de", "la", "el", "i", "a", "en", "al", "un", "o", "no", "es", "ha", "quin", "quins", "quina",
    "quines", "quan", "on", "hem", "som", "podem", "pot", "fer"];

  // Only the newest search may draw: a filter change and a click on Cerca can both start
  // one, and an older response (or its cards) must never replace a newer one.
  var latest = 0;
  var inFlight = null;
  var reference = null; // {date, text, fixed} from the server

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(url, allowContacts) {
    try {
      var parsed = new URL(url, document.baseURI);
      var allowed = ["https:", "http:"].concat(allowContacts ? ["tel:", "mailto:"] : []);
      return allowed.indexOf(parsed.protocol) >= 0 ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function getJson(url, signal) {
    return fetch(url, { signal: signal }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    });
  }

  // ---- facets and the reference date (shared with the timeline) -------------------
  function fillSelect(select, values) {
    var current = select.value;
    (values || []).forEach(function (item) {
      var option = el("option", null, item.value + " (" + item.count + ")");
      option.value = item.value;
      select.appendChild(option);
    });
    select.value = current;
  }

  var ready = Promise.all([
    getJson("/api/facets").catch(function () { return {}; }),
    getJson("/api/reference-date").catch(function () { return null; })
  ]).then(function (loaded) {
    var facets = loaded[0] || {};
    reference = loaded[1];
    Array.prototype.forEach.call(document.querySelectorAll("select[data-facet]"), function (select) {
      fillSelect(select, facets[select.getAttribute("data-facet")]);
    });
    if (reference && reference.text) {
      var line = document.getElementById("reference-date");
      line.textContent = "Data de referència: " + reference.text;
      line.hidden = false;
    }
    return { facets: facets, reference: reference };
  });

  // ---- query words: highlighting -------------------------------------------------
  function fold(text) {
    return String(text).toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/l·l/g, "ll").replace(/[’']/g, "'");
  }

  // A word's stem for matching: plurals and feminine endings off ("plaques" ~ "placa").
  function stem(word) {
    var w = fold(word).replace(/^(?:l|d|s|n|m|t)'/, "");
    if (w.length > 5) w = w.replace(/(?:es|os|s|a|e)$/, "");
    return w.length > 6 ? w.slice(0, 6) : w;
  }

  function queryStems(q) {
    var stems = [];
    String(q).split(/[^\p{L}\p{N}'’·]+/u).forEach(function (word) {
      var folded = fold(word).replace(/^(?:l|d|s|n|m|t)'/, "");
      if (folded.length < 3 || STOPWORDS.indexOf(folded) >= 0) return;
      var s = stem(word);
      if (s.length >= 3 && stems.indexOf(s) < 0) stems.push(s);
    });
    return stems;
  }

  // Text with the query's words in <mark>, built node by node (never as HTML).
  function highlighted(text, stems, parent) {
    var target = parent || document.createDocumentFragment();
    if (!stems.length) {
      target.appendChild(document.createTextNode(text));
      return target;
    }
    var parts = String(text).split(/([\p{L}\p{N}'’·]+)/u);
    parts.forEach(function (part) {
      if (!part) return;
      var word = fold(part).replace(/^(?:l|d|s|n|m|t)'/, "");
      var hit = /[\p{L}\p{N}]/u.test(part) && stems.some(function (s) { return word.indexOf(s) === 0; });
      target.appendChild(hit ? el("mark", null, part) : document.createTextNode(part));
    });
    return target;
  }

  // ---- snippets: whole sentences, with an ellipsis where the text goes on ------------
  function sentencesOf(text) {
    return String(text || "").replace(/\s+/g, " ").trim().split(/(?<=[.!?;:])\s+(?=[\p{Lu}«"(\d])/u)
      .filter(Boolean);
  }

  function snippetFor(hit, stems) {
    var meta = hit.metadata || {};
    var full = String(meta.text || meta.descripcio || "");
    var sentences = sentencesOf(full);
    if (!sentences.length) return String(hit.snippet || "");
    // Start at the sentence the server picked (it shares most terms with the query).
    var head = fold(String(hit.snippet || "").replace(/…$/, "")).slice(0, 40);
    var start = 0;
    for (var i = 0; i < sentences.length && head; i++) {
      if (fold(sentences[i]).indexOf(head.slice(0, 25)) === 0) { start = i; break; }
    }
    var out = sentences[start];
    var end = start + 1;
    while (out.length < SNIPPET.MIN && end < sentences.length && out.length + sentences[end].length <= SNIPPET.MAX) {
      out += " " + sentences[end];
      end += 1;
    }
    var cut = false;
    if (out.length > SNIPPET.MAX) {
      out = out.slice(0, SNIPPET.MAX).replace(/\s+\S*$/, "");
      cut = true;
    }
    return (start > 0 ? "… " : "") + out + (cut || end < sentences.length ? " …" : "");
  }

  // ---- cards ---------------------------------------------------------------------
  function sourceTitle(hit) {
    var meta = hit.metadata || {};
    if (hit.kind === "recurs") return "Catàleg de serveis" + (meta.any ? " " + meta.any : "");
    return meta.doc_title || "";
  }

  // "Article 17. Difusió" already says "Article 17": the label is shown once.
  function referenceLabel(hit) {
    if (hit.codi) return "Codi " + hit.codi;
    if (hit.kind === "faq" || !hit.article) return null;
    return fold(hit.title).indexOf(fold(hit.article)) === 0 ? null : hit.article;
  }

  function metaItems(hit, card) {
    var meta = hit.metadata || {};
    var items = [];
    if (meta.tipologia) items.push(["Tipologia", meta.tipologia + (meta.classe ? " · " + meta.classe : "")]);
    if (meta.area) items.push(["Àrea", meta.area]);
    if (meta.destinataris && meta.destinataris.length) {
      items.push(["Destinataris", Array.isArray(meta.destinataris) ? meta.destinataris.join(", ") : meta.destinataris]);
    }
    if (meta.tram_poblacio) items.push(["Població", meta.tram_poblacio]);
    if (card) {
      items.push(["Termini", card.window.text + (card.termini && card.window.state !== "all_year" &&
        card.window.state !== "no_application" ? " (" + card.termini + ")" : ""), "window-" + card.window.state]);
    } else if (meta.termini) {
      items.push(["Termini", meta.termini]);
    }
    if (meta.import) items.push(["Import", meta.import]);
    if (card && card.contacts && card.contacts.length) items.push(["Contacte", card.contacts]);
    return items;
  }

  function contactNodes(contacts) {
    var fragment = document.createDocumentFragment();
    contacts.forEach(function (contact, i) {
      if (i) fragment.appendChild(document.createTextNode(" · "));
      var href = contact.href ? safeUrl(contact.href, true) : null;
      var node = href ? el("a", "contact", contact.label) : el("span", null, contact.label);
      if (href) node.href = href;
      fragment.appendChild(node);
    });
    return fragment;
  }

  function renderMeta(item, hit, card) {
    var old = item.querySelector(".meta");
    var rows = metaItems(hit, card);
    if (!rows.length) return;
    var dl = el("dl", "meta");
    rows.forEach(function (row) {
      var line = el("div", "meta-row" + (row[2] ? " " + row[2] : ""));
      line.appendChild(el("dt", null, row[0]));
      var dd = el("dd");
      if (Array.isArray(row[1])) dd.appendChild(contactNodes(row[1]));
      else dd.textContent = row[1];
      line.appendChild(dd);
      dl.appendChild(line);
    });
    if (old) old.replaceWith(dl);
    else item.querySelector(".source").before(dl);
  }

  function card(hit, stems) {
    var item = el("li", "card");
    item.setAttribute("data-kind", hit.kind);
    if (hit.codi) item.setAttribute("data-codi", hit.codi);
    if (hit.metadata && hit.metadata.tipologia) item.setAttribute("data-tipologia", hit.metadata.tipologia);
    var head = el("div", "card-head");
    head.appendChild(el("span", "badge badge-" + hit.kind, KIND_LABELS[hit.kind] || hit.kind));
    var label = referenceLabel(hit);
    if (label) head.appendChild(el("span", "ref", label));
    item.appendChild(head);

    var title = el("h2", "card-title");
    var href = hit.url ? safeUrl(hit.url) : null;
    if (href) {
      var link = el("a");
      highlighted(hit.title, stems, link);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(el("span", "sr-only", " (s'obre en una finestra nova)"));
      title.appendChild(link);
    } else {
      highlighted(hit.title, stems, title);
    }
    item.appendChild(title);
    if (hit.kind === "faq" && hit.article && hit.article !== hit.title) {
      item.appendChild(highlighted(hit.article, stems, el("p", "faq-question")));
    }
    item.appendChild(highlighted(snippetFor(hit, stems), stems, el("p", "snippet")));
    var origin = sourceTitle(hit);
    item.appendChild(el("p", "source", origin ? "Font: " + origin : ""));
    renderMeta(item, hit, null);
    return item;
  }

  // ---- relevance and counts --------------------------------------------------------
  function relevant(results) {
    var shared = results.some(function (hit) { return Number((hit.metadata || {}).sparse_score) > 0; });
    if (!results.length || !shared) return [];
    var best = results[0].score;
    return results.filter(function (hit) { return hit.score >= RELEVANCE.MIN_SHARE * best; });
  }

  function showCounts(results, filters) {
    counts.textContent = "";
    var groups = [
      ["kind", "Tipus", function (h) { return h.kind; }, function (v) { return KIND_PLURALS[v] || v; }],
      ["tipologia", "Tipologia", function (h) { return (h.metadata || {}).tipologia; }, String],
      ["area", "Àrea", function (h) { return (h.metadata || {}).area; }, String]
    ];
    groups.forEach(function (group) {
      if (filters[group[0]]) return; // already narrowed to one value
      var tally = {};
      results.forEach(function (hit) {
        var value = group[2](hit);
        if (value) tally[value] = (tally[value] || 0) + 1;
      });
      var values = Object.keys(tally).sort(function (a, b) { return tally[b] - tally[a] || a.localeCompare(b, "ca"); });
      if (values.length < 2) return;
      var row = el("div", "facet-row");
      row.appendChild(el("span", "facet-name", group[1] + ":"));
      values.forEach(function (value) {
        var button = el("button", "facet-chip");
        button.type = "button";
        button.setAttribute("data-filter", group[0]);
        button.setAttribute("data-value", value);
        button.appendChild(el("span", null, group[3](value)));
        button.appendChild(el("span", "facet-count", String(tally[value])));
        button.appendChild(el("span", "sr-only", tally[value] === 1 ? " resultat: filtra" : " resultats: filtra"));
        button.addEventListener("click", function () {
          form.elements[group[0]].value = value;
          search();
        });
        row.appendChild(button);
      });
      counts.appendChild(row);
    });
    counts.hidden = !counts.childNodes.length;
  }

  function showStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    status.setAttribute("role", isError ? "alert" : "status");
  }

  // ---- search ----------------------------------------------------------------------
  function readFilters() {
    var filters = {};
    FILTERS.forEach(function (name) {
      var value = form.elements[name].value;
      if (value) filters[name] = value;
    });
    if (form.elements.obert.checked && reference) filters.obert_a = reference.date;
    return filters;
  }

  function syncAddress(q, filters) {
    var params = new URLSearchParams();
    params.set("q", q);
    FILTERS.forEach(function (name) { if (filters[name]) params.set(name, filters[name]); });
    if (filters.obert_a) params.set("obert", "1");
    history.replaceState(null, "", "?" + params.toString());
  }

  function loadCards(results, seq, signal) {
    var codes = results.map(function (h) { return h.codi; }).filter(Boolean);
    if (!codes.length) return Promise.resolve();
    var url = "/api/cards?" + codes.map(function (c) { return "codi=" + encodeURIComponent(c); }).join("&");
    return getJson(url, signal).then(function (body) {
      if (seq !== latest) return;
      var byCode = {};
      (body.cards || []).forEach(function (c) { byCode[c.codi] = c; });
      results.forEach(function (hit, index) {
        var found = hit.codi && byCode[hit.codi];
        if (found) renderMeta(list.children[index], hit, found);
      });
    }).catch(function () { /* the card keeps the catalogue's own window text */ });
  }

  function search() {
    var q = query.value.trim();
    if (!q) {
      showStatus("Escriviu què voleu cercar.", true);
      query.focus();
      return;
    }
    if (form.elements.obert.checked && !reference) {
      ready.then(function () { if (reference) search(); }); // "Obert ara" needs the date
      return;
    }
    var filters = readFilters();
    syncAddress(q, filters);
    var seq = ++latest;
    if (inFlight) inFlight.abort();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    inFlight = controller;
    var signal = controller ? controller.signal : undefined;
    list.setAttribute("aria-busy", "true");
    showStatus("Cercant…", false);
    fetch("/api/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: q, top_k: TOP_K, filters: filters }),
      signal: signal
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(typeof body.detail === "string" ? body.detail :
            "No s'ha pogut fer la cerca. Torneu-ho a provar.");
        }
        return body.results || [];
      });
    }).then(function (results) {
      if (seq !== latest) return;
      var shown = relevant(results);
      var stems = queryStems(q);
      list.textContent = "";
      shown.forEach(function (hit) { list.appendChild(card(hit, stems)); });
      showCounts(shown, filters);
      showStatus(shown.length === 0 ? "Cap resultat. Proveu amb altres paraules o traieu algun filtre." :
        shown.length === 1 ? "1 resultat." : shown.length + " resultats.", false);
      return loadCards(shown, seq, signal);
    }).catch(function (error) {
      if (seq !== latest) return; // aborted or overtaken by a newer search
      list.textContent = "";
      counts.hidden = true;
      var message = error instanceof TypeError ?
        "No s'ha pogut connectar amb el servidor. Torneu-ho a provar." : error.message;
      showStatus(message, true);
    }).then(function () {
      if (seq !== latest) return;
      inFlight = null;
      list.removeAttribute("aria-busy");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });
  // Changing a filter re-runs the current search.
  form.addEventListener("change", function (event) {
    if (event.target !== query && query.value.trim()) search();
  });

  // ---- views: search and the timeline of application windows ------------------------
  var views = {
    search: document.getElementById("search-view"),
    timeline: document.getElementById("timeline-view")
  };

  function showView(name, push) {
    Object.keys(views).forEach(function (key) { views[key].hidden = key !== name; });
    Array.prototype.forEach.call(document.querySelectorAll(".views a"), function (a) {
      if (a.getAttribute("data-view") === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    if (push) history.pushState(null, "", name === "timeline" ? "/?vista=terminis" : "/");
    if (name === "timeline" && window.concertaStaff.onTimeline) window.concertaStaff.onTimeline();
  }

  Array.prototype.forEach.call(document.querySelectorAll(".views a"), function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      showView(a.getAttribute("data-view"), true);
    });
  });
  window.addEventListener("popstate", function () { start(false); });

  // Filters fold away on small screens: the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 600px)").matches) {
    filtersBox.open = false;
    document.getElementById("timeline-filters-box").open = false;
  }

  window.concertaStaff = { ready: ready, el: el, safeUrl: safeUrl, getJson: getJson, onTimeline: null };

  function start(initial) {
    var params = new URLSearchParams(location.search);
    if (params.get("vista") === "terminis") {
      showView("timeline", false);
      return;
    }
    showView("search", false);
    if (params.get("q")) {
      query.value = params.get("q");
      ready.then(function () {
        FILTERS.forEach(function (name) { if (params.get(name)) form.elements[name].value = params.get(name); });
        form.elements.obert.checked = params.get("obert") === "1";
        if (params.get(FILTERS[1]) || params.get("obert") || params.get("area")) filtersBox.open = true;
        search();
      });
    } else if (initial) {
      query.focus();
    }
  }
  start(true);
})();

/*
 * Staff search page: POST /api/search with the query and the chosen filters, and render
 * the hits as cards. Text from the server is only ever set with textContent.
 * The query and filters are mirrored in the address, so a search can be shared by link.
 */
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  var query = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("result-list");
  var FILTERS = ["kind", "tipologia", "area", "destinataris"];
  var KIND_LABELS = { recurs: "Recurs del catàleg", normativa: "Normativa", faq: "Pregunta freqüent" };
  // Only the newest search may draw: a filter change and a click on Cerca can both start
  // one, and an older response must never replace a newer one.
  var latest = 0;
  var inFlight = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function today() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  function safeUrl(url) {
    try {
      var parsed = new URL(url, document.baseURI);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function readFilters() {
    var filters = {};
    FILTERS.forEach(function (name) {
      var value = form.elements[name].value;
      if (value) filters[name] = value;
    });
    if (form.elements.obert.checked) filters.obert_a = today();
    return filters;
  }

  function formatDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
    return m ? Number(m[3]) + "/" + Number(m[2]) + "/" + m[1] : String(iso);
  }

  // Metadata worth a line on a card, in the order staff read it.
  function metaItems(hit) {
    var meta = hit.metadata || {};
    var items = [];
    if (meta.tipologia) items.push(["Tipologia", meta.tipologia + (meta.classe ? " · " + meta.classe : "")]);
    if (meta.area) items.push(["Àrea", meta.area]);
    if (meta.destinataris) {
      items.push(["Destinataris", Array.isArray(meta.destinataris) ? meta.destinataris.join(", ") : meta.destinataris]);
    }
    if (meta.tram_poblacio) items.push(["Població", meta.tram_poblacio]);
    var termini = meta.termini || meta.termini_sollicitud;
    if (termini && typeof termini === "object" && termini.inici && termini.fi) {
      items.push(["Termini", "del " + formatDate(termini.inici) + " al " + formatDate(termini.fi)]);
    } else if (typeof termini === "string" && termini) {
      items.push(["Termini", termini]);
    } else if (meta.sollicitud_tot_l_any) {
      items.push(["Termini", "Tot l'any"]);
    }
    if (meta.import) items.push(["Import", meta.import]);
    return items;
  }

  function card(hit) {
    var item = el("li", "card");
    item.setAttribute("data-kind", hit.kind);
    if (hit.codi) item.setAttribute("data-codi", hit.codi);
    if (hit.metadata && hit.metadata.tipologia) item.setAttribute("data-tipologia", hit.metadata.tipologia);
    var head = el("div", "card-head");
    head.appendChild(el("span", "badge badge-" + hit.kind, KIND_LABELS[hit.kind] || hit.kind));
    if (hit.codi) head.appendChild(el("span", "ref", "Codi " + hit.codi));
    else if (hit.article && hit.kind !== "faq") head.appendChild(el("span", "ref", hit.article));
    item.appendChild(head);

    var title = el("h2", "card-title");
    var href = hit.url ? safeUrl(hit.url) : null;
    if (href) {
      var link = el("a", null, hit.title);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(el("span", "sr-only", " (s'obre en una finestra nova)"));
      title.appendChild(link);
    } else {
      title.textContent = hit.title;
    }
    item.appendChild(title);
    if (hit.kind === "faq" && hit.article && hit.article !== hit.title) {
      item.appendChild(el("p", "faq-question", hit.article));
    }
    item.appendChild(el("p", "snippet", hit.snippet));

    var items = metaItems(hit);
    if (items.length) {
      var dl = el("dl", "meta");
      items.forEach(function (pair) {
        var row = el("div", "meta-row");
        row.appendChild(el("dt", null, pair[0]));
        row.appendChild(el("dd", null, pair[1]));
        dl.appendChild(row);
      });
      item.appendChild(dl);
    }
    item.appendChild(el("p", "source", "Font: " + hit.source));
    return item;
  }

  function showStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    status.setAttribute("role", isError ? "alert" : "status");
  }

  function syncAddress(q, filters) {
    var params = new URLSearchParams();
    params.set("q", q);
    FILTERS.forEach(function (name) { if (filters[name]) params.set(name, filters[name]); });
    if (filters.obert_a) params.set("obert", "1");
    history.replaceState(null, "", "?" + params.toString());
  }

  function search() {
    var q = query.value.trim();
    if (!q) {
      showStatus("Escriu què vols cercar.", true);
      query.focus();
      return;
    }
    var filters = readFilters();
    syncAddress(q, filters);
    var seq = ++latest;
    if (inFlight) inFlight.abort();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    inFlight = controller;
    list.setAttribute("aria-busy", "true");
    showStatus("Cercant…", false);
    fetch("/api/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: q, top_k: 20, filters: filters }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(typeof body.detail === "string" ? body.detail :
            "No s'ha pogut fer la cerca. Torna-ho a provar.");
        }
        return body.results || [];
      });
    }).then(function (results) {
      if (seq !== latest) return;
      list.textContent = "";
      results.forEach(function (hit) { list.appendChild(card(hit)); });
      showStatus(results.length === 0 ? "No s'ha trobat cap resultat. Prova amb altres paraules o treu algun filtre." :
        results.length === 1 ? "1 resultat." : results.length + " resultats.", false);
    }).catch(function (error) {
      if (seq !== latest) return; // aborted or overtaken by a newer search
      list.textContent = "";
      var message = error instanceof TypeError ?
        "No s'ha pogut connectar amb el servidor. Torna-ho a provar." : error.message;
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

  var params = new URLSearchParams(location.search);
  if (params.get("q")) {
    query.value = params.get("q");
    FILTERS.forEach(function (name) { if (params.get(name)) form.elements[name].value = params.get(name); });
    form.elements.obert.checked = params.get("obert") === "1";
    search();
  } else {
    query.focus();
  }
})();

/*
 * The catalogue managers' page: asks for the operator token once (kept in sessionStorage,
 * so it is forgotten with the tab), then draws GET /api/admin/report for a period.
 * Text from the server is only ever set with textContent; the chart is SVG built here.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "concerta-admin-token";
  var SVG = "http://www.w3.org/2000/svg";
  // Every refusal reason of assistant/ask/decision.py, as the catalogue managers read it.
  var REASONS = {
    no_evidence: "cap font ho cobreix",
    ineligible: "els recursos que hi encaixen no són per a qui pregunta",
    false_premise: "un suport que el catàleg no té",
    other_administration: "qüestió d'una altra administració",
    out_of_period: "anys que les fonts no cobreixen",
    unknown_code: "codis que les fonts no tenen",
    small_talk: "conversa fora de l'àmbit",
    injection: "intent de canviar les instruccions",
    unknown: "motiu no registrat"
  };
  var KIND_LABELS = { normativa: "Normativa", faq: "Pregunta freqüent" };

  var login = document.getElementById("login");
  var loginForm = document.getElementById("login-form");
  var loginError = document.getElementById("login-error");
  var reportBox = document.getElementById("report");
  var periodForm = document.getElementById("period-form");
  var status = document.getElementById("status");
  var chart = document.getElementById("chart");
  var lastReport = null;
  var latest = 0;

  // ---- small helpers -------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function safeUrl(url) {
    try {
      var parsed = new URL(url, document.baseURI);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function shortDay(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
    return m ? Number(m[3]) + "/" + Number(m[2]) : String(iso);
  }

  function longDay(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
    return m ? Number(m[3]) + "/" + Number(m[2]) + "/" + m[1] : String(iso);
  }

  function percent(rate) {
    return (Math.round(rate * 1000) / 10).toLocaleString("ca-ES") + " %";
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function link(title, url) {
    var href = url ? safeUrl(url) : null;
    if (!href) return el("span", null, title);
    var a = el("a", null, title);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(el("span", "sr-only", " (s'obre en una finestra nova)"));
    return a;
  }

  function empty(list, text) {
    list.textContent = "";
    list.appendChild(el("li", "empty", text));
  }

  function showStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    status.setAttribute("role", isError ? "alert" : "status");
  }

  // ---- token -----------------------------------------------------------------------
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function askForToken(message) {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ }
    reportBox.hidden = true;
    login.hidden = false;
    loginError.textContent = message || "";
    document.getElementById("token").focus();
  }

  loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = loginForm.elements.token.value.trim();
    if (!value) { loginError.textContent = "Escriviu la clau d'operador."; return; }
    try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* kept for this load only */ }
    loginForm.elements.token.value = "";
    login.hidden = true;
    reportBox.hidden = false;
    load(value);
  });

  document.getElementById("logout").addEventListener("click", function () {
    askForToken("Heu sortit. Per tornar a entrar, escriviu la clau.");
  });

  // ---- requests ----------------------------------------------------------------------
  function period() {
    return { from: periodForm.elements.from.value, to: periodForm.elements.to.value };
  }

  function query(p) {
    return "?from=" + encodeURIComponent(p.from) + "&to=" + encodeURIComponent(p.to);
  }

  function failure(response) {
    var id = response.headers.get("X-Request-ID");
    return response.json().catch(function () { return {}; }).then(function (body) {
      var detail = body && typeof body.detail === "string" ? body.detail :
        "No s'ha pogut obtenir l'informe. Torneu-ho a provar.";
      var error = new Error(id ? detail + " (referència: " + id + ")" : detail);
      error.status = response.status;
      throw error;
    });
  }

  function request(path, key) {
    return fetch(path, { headers: { Authorization: "Bearer " + key }, cache: "no-store" })
      .then(function (response) { return response.ok ? response : failure(response); });
  }

  function handleError(error) {
    if (error.status === 401) { askForToken("La clau no és correcta."); return; }
    showStatus(error instanceof TypeError ?
      "No s'ha pogut connectar amb el servidor. Torneu-ho a provar." : error.message, true);
  }

  function load(key) {
    var p = period();
    // No dates yet: the server's default period (the last 30 days in the report's time
    // zone, which the browser's clock may not share), then shown in the form.
    var byDefault = !p.from && !p.to;
    if (!byDefault && (!p.from || !p.to)) {
      showStatus("Indiqueu les dues dates del període.", true);
      return;
    }
    if (!byDefault) history.replaceState(null, "", query(p));
    var seq = ++latest;
    reportBox.setAttribute("aria-busy", "true");
    showStatus("Preparant l'informe…", false);
    request("/api/admin/report" + (byDefault ? "" : query(p)), key)
      .then(function (response) { return response.json(); })
      .then(function (report) {
        if (seq !== latest) return;
        if (byDefault) {
          periodForm.elements.from.value = report.period.from;
          periodForm.elements.to.value = report.period.to;
          history.replaceState(null, "", query(period()));
        }
        render(report);
        showStatus("Informe del " + longDay(report.period.from) + " al " + longDay(report.period.to) + ".", false);
      })
      .catch(function (error) { if (seq === latest) handleError(error); })
      .then(function () { if (seq === latest) reportBox.removeAttribute("aria-busy"); });
  }

  periodForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var key = token();
    if (key) load(key); else askForToken();
  });

  document.getElementById("csv").addEventListener("click", function () {
    var key = token();
    if (!key) { askForToken(); return; }
    var p = period();
    request("/api/admin/report.csv" + query(p), key)
      .then(function (response) { return response.blob(); })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a");
        a.href = url;
        a.download = "concerta-preguntes-" + p.from + "-" + p.to + ".csv";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      })
      .catch(handleError);
  });

  // ---- rendering ---------------------------------------------------------------------
  function render(report) {
    lastReport = report;
    renderFigures(report);
    renderChart(report.by_day);
    renderDayTable(report.by_day);
    renderGaps(report.gaps);
    renderFeedback(report.feedback.items);
    renderResources(report.top_resources);
    renderArticles(report.top_articles);
    renderZero(report.zero_result_searches);
  }

  function renderFigures(r) {
    var figures = document.getElementById("figures");
    figures.textContent = "";
    [
      ["Preguntes", String(r.questions), plural(r.conversations, "conversa", "converses")],
      ["Amb resposta", String(r.answered), percent(r.answered_rate)],
      ["Sense resposta", String(r.refused), percent(r.refused_rate)],
      ["Valoracions", String(r.feedback.up + r.feedback.down),
        plural(r.feedback.up, "útil", "útils") + ", " + plural(r.feedback.down, "no útil", "no útils")],
      ["Cerques", String(r.searches), plural(r.zero_result_searches.reduce(function (n, s) {
        return n + s.count; }, 0), "sense resultat", "sense resultat")]
    ].forEach(function (item) {
      var box = el("div", "figure");
      box.appendChild(el("dt", null, item[0]));
      box.appendChild(el("dd", "value", item[1]));
      box.appendChild(el("dd", "detail", item[2]));
      figures.appendChild(box);
    });
    var reasons = Object.keys(r.refusal_reasons || {});
    document.getElementById("reasons").textContent = reasons.length ?
      "Motius dels refusos: " + reasons.map(function (code) {
        return (REASONS[code] || code) + " (" + r.refusal_reasons[code] + ")";
      }).join(", ") + "." : "";
  }

  // An axis of four whole-number steps (questions are counted, never halved).
  function axisStep(value) {
    var raw = Math.max(1, value / 4);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= raw) return steps[i] * power;
    }
    return 10 * power;
  }

  function renderChart(days) {
    chart.textContent = "";
    var width = Math.max(280, Math.floor(chart.clientWidth || 640));
    var height = width < 500 ? 200 : 240;
    var pad = { left: 34, right: 8, top: 10, bottom: 28 };
    var plotW = width - pad.left - pad.right;
    var plotH = height - pad.top - pad.bottom;
    var total = days.reduce(function (n, d) { return n + d.questions; }, 0);
    var refused = days.reduce(function (n, d) { return n + d.refused; }, 0);
    var step = axisStep(days.reduce(function (m, d) { return Math.max(m, d.questions); }, 0));
    var top = step * 4;
    var busiest = days.reduce(function (best, d) { return d.questions > best.questions ? d : best; },
      { questions: -1 });

    var root = svg("svg", {
      width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-labelledby": "chart-svg-title chart-svg-desc", "class": "bars"
    });
    root.appendChild(svg("title", { id: "chart-svg-title" }, "Preguntes i refusos per dia"));
    root.appendChild(svg("desc", { id: "chart-svg-desc" },
      plural(total, "pregunta", "preguntes") + " en " + plural(days.length, "dia", "dies") + ", " +
      refused + " sense resposta" +
      (busiest.questions > 0 ? ". El dia amb més preguntes: " + longDay(busiest.date) +
        " (" + busiest.questions + ")." : ".")));

    var y = function (v) { return pad.top + plotH - (v / top) * plotH; };
    for (var t = 0; t <= 4; t++) {
      var value = step * t;
      root.appendChild(svg("line", {
        x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), "class": "grid"
      }));
      root.appendChild(svg("text", {
        x: pad.left - 6, y: y(value) + 4, "text-anchor": "end", "class": "tick"
      }, value));
    }
    var slot = plotW / Math.max(days.length, 1);
    var barW = Math.max(1, Math.min(28, slot * 0.7));
    var every = Math.max(1, Math.ceil(44 / slot)); // one date label per ~44 px
    days.forEach(function (d, i) {
      var x = pad.left + i * slot + (slot - barW) / 2;
      var group = svg("g", { "class": "day", "data-date": d.date });
      group.appendChild(svg("title", {}, longDay(d.date) + ": " +
        plural(d.questions, "pregunta", "preguntes") + ", " + d.refused + " sense resposta"));
      if (d.answered > 0) {
        group.appendChild(svg("rect", {
          x: x, width: barW, y: y(d.questions), height: y(d.refused) - y(d.questions), "class": "answered"
        }));
      }
      if (d.refused > 0) {
        group.appendChild(svg("rect", {
          x: x, width: barW, y: y(d.refused), height: y(0) - y(d.refused), "class": "refused"
        }));
      }
      root.appendChild(group);
      if (i % every === 0) {
        root.appendChild(svg("text", {
          x: x + barW / 2, y: height - 8, "text-anchor": "middle", "class": "tick"
        }, shortDay(d.date)));
      }
    });
    root.appendChild(svg("line", {
      x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), "class": "axis"
    }));
    chart.appendChild(root);
  }

  function renderDayTable(days) {
    var body = document.querySelector("#day-table tbody");
    body.textContent = "";
    days.forEach(function (d) {
      var row = el("tr");
      row.appendChild(el("th", null, longDay(d.date))).setAttribute("scope", "row");
      [d.questions, d.answered, d.refused].forEach(function (n) { row.appendChild(el("td", null, n)); });
      body.appendChild(row);
    });
  }

  function renderGaps(gaps) {
    var list = document.getElementById("gap-list");
    if (!gaps.length) { empty(list, "Cap pregunta sense resposta en aquest període."); return; }
    list.textContent = "";
    gaps.forEach(function (gap) {
      var item = el("li", "card gap");
      item.appendChild(el("h3", "gap-label", gap.label));
      item.appendChild(el("p", "count", plural(gap.count, "pregunta", "preguntes")));
      item.appendChild(el("p", "sub", "Com ho han preguntat:"));
      var examples = el("ul", "examples");
      gap.examples.forEach(function (q) { examples.appendChild(el("li", null, q)); });
      item.appendChild(examples);
      if (gap.nearest.length) {
        item.appendChild(el("p", "sub", "Recursos existents més propers:"));
        var near = el("ul", "nearest");
        gap.nearest.forEach(function (hit) {
          var li = el("li");
          li.appendChild(link(hit.title, hit.url));
          var ref = hit.codi ? "codi " + hit.codi : (hit.article || hit.source);
          if (ref) li.appendChild(el("span", "ref", " · " + ref));
          near.appendChild(li);
        });
        item.appendChild(near);
      }
      list.appendChild(item);
    });
  }

  function renderFeedback(items) {
    var list = document.getElementById("feedback-list");
    if (!items.length) { empty(list, "Cap valoració negativa ni comentari en aquest període."); return; }
    list.textContent = "";
    items.forEach(function (f) {
      var item = el("li", "card feedback " + (f.rating < 0 ? "down" : "up"));
      item.appendChild(el("p", "rating", (f.rating < 0 ? "No útil" : "Útil") + " · " + longDay(f.created_at)));
      item.appendChild(el("p", "question", f.question || "(pregunta no trobada)"));
      if (f.comment) item.appendChild(el("p", "comment", "Comentari: " + f.comment));
      list.appendChild(item);
    });
  }

  function renderResources(resources) {
    var list = document.getElementById("resource-list");
    if (!resources.length) { empty(list, "Cap recurs citat en aquest període."); return; }
    list.textContent = "";
    resources.forEach(function (r) {
      var item = el("li");
      item.appendChild(link(r.title, r.url));
      item.appendChild(el("span", "ref", " · codi " + r.codi + " · " + plural(r.citations, "resposta", "respostes")));
      list.appendChild(item);
    });
  }

  function renderArticles(articles) {
    var list = document.getElementById("article-list");
    if (!articles.length) { empty(list, "Cap article ni pregunta freqüent citats en aquest període."); return; }
    list.textContent = "";
    articles.forEach(function (a) {
      var item = el("li");
      item.appendChild(link(a.kind === "faq" ? a.article : a.article + " · " + a.title, a.url));
      item.appendChild(el("span", "ref", " · " + (KIND_LABELS[a.kind] || a.kind) + " · " +
        plural(a.citations, "resposta", "respostes")));
      list.appendChild(item);
    });
  }

  function renderZero(searches) {
    var list = document.getElementById("zero-list");
    if (!searches.length) { empty(list, "Totes les cerques han trobat algun resultat."); return; }
    list.textContent = "";
    searches.forEach(function (s) {
      var item = el("li");
      item.appendChild(el("span", "query", "«" + s.query + "»"));
      var filters = Object.keys(s.filters || {}).map(function (k) { return k + "=" + s.filters[k]; });
      if (filters.length) item.appendChild(el("span", "ref", " · filtres: " + filters.join(", ")));
      item.appendChild(el("span", "ref", " · " + plural(s.count, "vegada", "vegades")));
      list.appendChild(item);
    });
  }

  // The chart is drawn for its box: redraw when the box changes width.
  var pendingResize = false;
  window.addEventListener("resize", function () {
    if (pendingResize || !lastReport) return;
    pendingResize = true;
    requestAnimationFrame(function () { pendingResize = false; renderChart(lastReport.by_day); });
  });

  // ---- start -------------------------------------------------------------------------
  var params = new URLSearchParams(location.search);
  periodForm.elements.from.value = params.get("from") || "";
  periodForm.elements.to.value = params.get("to") || "";
  var saved = token();
  if (saved) {
    reportBox.hidden = false;
    load(saved);
  } else {
    askForToken();
  }
})();

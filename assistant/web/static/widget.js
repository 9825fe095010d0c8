/*
 * Concerta chat widget. Embed on any page with one tag:
 *   <script src="https://<servidor>/widget.js" defer></script>
 * The API base is the folder this script was loaded from (override with data-api="...").
 * Everything lives in a shadow root, so the host page's CSS and ours never mix, and the
 * whole file is one closure: nothing is added to window.
 *
 * Answers stream from POST /api/ask/stream (Server-Sent Events read with fetch, since
 * EventSource cannot POST). Text from the server is never parsed as HTML.
 * The conversation (the server's conversation id and the turns shown) is kept in
 * sessionStorage, so a reload or another page of the portal shows it again; "Nova
 * conversa" forgets it. While the panel is open, Tab and Shift+Tab stay inside it.
 * Screen readers hear each answer once, when it is complete: the streaming text is drawn
 * in a busy region and only the final answer goes to the live region.
 */
(function () {
  "use strict";

  var HOST_ID = "concerta-widget";
  if (document.getElementById(HOST_ID)) return; // the tag was included twice

  var script = document.currentScript;
  var scriptUrl = new URL((script && script.src) || "/widget.js", document.baseURI);
  var API = ((script && script.getAttribute("data-api")) ||
    scriptUrl.href.replace(/\/widget\.js(?:[?#].*)?$/, "")).replace(/\/$/, "");
  var MAX_CHARS = 2000;
  var STORAGE_KEY = "concerta-widget:" + API;
  var MAX_STORED_TURNS = 40;

  var T = {
    open: "Obre l'assistent del Pla XGL",
    launcher: "Pregunteu",
    title: "Assistent del Pla XGL",
    subtitle: "Catàleg de serveis i normativa",
    close: "Tanca l'assistent",
    reset: "Nova conversa",
    resetLabel: "Comença una conversa nova",
    logLabel: "Conversa amb l'assistent",
    inputLabel: "Escriviu la vostra pregunta",
    placeholder: "Escriviu la vostra pregunta…",
    send: "Envia",
    welcome: "Hola! Soc l'assistent del Pla de concertació Xarxa de Governs Locals. " +
      "Pregunteu-me pels recursos del Catàleg de serveis, els terminis, les justificacions o la normativa.",
    examplesLabel: "Exemples de preguntes",
    examples: [
      "Hi ha ajuts per posar wifi a la plaça?",
      "Fins quan es pot justificar un ajut?",
      "Quins recursos hi ha per a municipis petits?"
    ],
    you: "Pregunta",
    assistant: "Resposta de l'assistent",
    thinking: "Cercant en el catàleg i la normativa…",
    sources: "Fonts",
    sourceN: "Font ",
    code: "Codi ",
    window: "Termini: ",
    useful: "Resposta útil",
    notUseful: "Resposta no útil",
    thanks: "Gràcies per la valoració.",
    feedbackFailed: "No s'ha pogut desar la valoració.",
    choicesLead: "Voleu la resposta sobre un sol recurs? Trieu-lo:",
    choiceLabel: "Pregunteu només sobre el recurs ",
    about: " — sobre «",
    empty: "Escriviu una pregunta abans d'enviar-la.",
    tooLong: "La pregunta és massa llarga: el màxim són 2.000 caràcters.",
    network: "No s'ha pogut connectar amb l'assistent. Comproveu la connexió i torneu-ho a provar.",
    generic: "S'ha produït un error inesperat. Torneu-ho a provar d'aquí a una estona.",
    busy: "L'assistent rep moltes preguntes ara mateix. Torneu-ho a provar d'aquí a uns segons.",
    busyKept: " La vostra pregunta continua escrita: podeu tornar-la a enviar.",
    interrupted: "La resposta s'ha interromput. Torneu-ho a provar.",
    errorRef: "Referència de l'error: ",
    newConversation: "Conversa nova. Què voleu saber?",
    referenceDate: "Data de referència: ",
    opensNewWindow: " (s'obre en una finestra nova)"
  };

  // ---- small DOM helpers (text always through textContent) -------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "className") node.className = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M3 20l18-8L3 4v6l12 2-12 2z",
    up: "M7 10v10H4V10h3zm2 10h8.5a2 2 0 0 0 2-1.6l1.3-6.4A2 2 0 0 0 18.8 9H14l.8-4a1.6 1.6 0 0 0-3-1L9 10v10z",
    down: "M17 14V4h3v10h-3zm-2-10H6.5a2 2 0 0 0-2 1.6L3.2 12A2 2 0 0 0 5.2 15H10l-.8 4a1.6 1.6 0 0 0 3 1l2.8-6V4z"
  };

  // Web links open in a new tab; tel: and mailto: links (contacts) open the phone or mail.
  function safeUrl(url) {
    try {
      var parsed = new URL(url, document.baseURI);
      return ["https:", "http:", "tel:", "mailto:"].indexOf(parsed.protocol) >= 0 ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, label, className) {
    if (/^(tel|mailto):/i.test(href)) return el("a", { className: className, href: href, text: label });
    return el("a", { className: className, href: href, target: "_blank", rel: "noopener noreferrer" }, [
      label, el("span", { className: "cnc-sr", text: T.opensNewWindow })
    ]);
  }

  // ---- the answer Markdown subset: paragraphs, "- " bullets, **bold**, [text](url), [n] --
  var INLINE = /\*\*([^*]+)\*\*|\[([^\]]+)\]\(((?:https?:\/\/|tel:|mailto:)[^\s)]+)\)|\[(\d{1,2})\]/g;

  function renderInline(text, parent, ctx) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1] !== undefined) {
        parent.appendChild(el("strong", { text: match[1] }));
      } else if (match[2] !== undefined) {
        var href = safeUrl(match[3]);
        parent.appendChild(href ? link(href, match[2]) : document.createTextNode(match[2]));
      } else {
        parent.appendChild(citation(parseInt(match[4], 10), ctx));
      }
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function citation(n, ctx) {
    var source = ctx.sources && ctx.sources[n - 1];
    if (!source) return el("span", { className: "cnc-cite", text: "[" + n + "]" });
    return el("button", {
      type: "button",
      className: "cnc-cite",
      "aria-label": T.sourceN + n + ": " + source.title,
      title: source.title,
      text: "[" + n + "]",
      onclick: function () {
        var card = ctx.cards && ctx.cards[n - 1];
        if (!card) return;
        card.scrollIntoView({ block: "nearest", behavior: "smooth" });
        card.focus();
      }
    });
  }

  function renderMarkdown(text, ctx) {
    var fragment = document.createDocumentFragment();
    String(text || "").replace(/\r\n?/g, "\n").split(/\n\s*\n/).forEach(function (block) {
      var lines = block.split("\n").filter(function (l) { return l.trim() !== ""; });
      var paragraph = null;
      var list = null;
      lines.forEach(function (line) {
        var bullet = /^\s*- (.*)$/.exec(line);
        if (bullet) {
          paragraph = null;
          if (!list) list = fragment.appendChild(el("ul"));
          renderInline(bullet[1], list.appendChild(el("li")), ctx);
        } else {
          list = null;
          if (paragraph) paragraph.appendChild(el("br"));
          else paragraph = fragment.appendChild(el("p"));
          renderInline(line, paragraph, ctx);
        }
      });
    });
    return fragment;
  }

  // The answer as a screen reader should hear it: the text without Markdown marks.
  function plainText(text) {
    return String(text || "")
      .replace(/\*\*([^*]+)\*\*/g, "$1")
      .replace(/\[([^\]]+)\]\([^)\s]+\)/g, "$1")
      .replace(/\[(\d{1,2})\]/g, "")
      .replace(/^\s*- /gm, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  // ---- Server-Sent Events over fetch -------------------------------------------------
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";

    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (!line || line.charAt(0) === ":") return; // keep-alive comments
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) return;
      var payload;
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (e) {
        return;
      }
      onEvent(name, payload);
    }

    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split(/\r?\n\r?\n/);
        buffer = parts.pop();
        parts.forEach(dispatch);
        return pump();
      });
    }
    return pump();
  }

  function errorDetail(response) {
    return response.json().then(function (body) {
      return body && typeof body.detail === "string" ? body.detail : null;
    }, function () {
      return null;
    });
  }

  // The server's id of a failed request, for the user to quote to the Pla XGL office.
  function requestId(response) {
    var id = response && response.headers ? response.headers.get("X-Request-ID") : null;
    return id && /^[0-9a-f]{8,64}$/i.test(id) ? id : null;
  }

  function UserError(message, id, kind) {
    this.message = message;
    this.requestId = id || null;
    this.kind = kind || "error";
  }

  // ---- what is kept across reloads (sessionStorage; failures only lose the memory) ----
  var store = {
    load: function () {
      try {
        var raw = window.sessionStorage.getItem(STORAGE_KEY);
        var value = raw ? JSON.parse(raw) : null;
        return value && Array.isArray(value.turns) ? value : null;
      } catch (e) {
        return null;
      }
    },
    save: function () {
      try {
        window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
          conversationId: state.conversationId,
          open: state.open,
          turns: state.turns.slice(-MAX_STORED_TURNS)
        }));
      } catch (e) { /* storage full or disabled: the conversation lasts for this page */ }
    },
    clear: function () {
      try { window.sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing kept */ }
    }
  };

  // What a source card needs, without the server's metadata (kept small in storage).
  function sourceView(hit) {
    var meta = hit.metadata || {};
    var origin = hit.kind === "recurs" ? "Catàleg de serveis" + (meta.any ? " " + meta.any : "") :
      (meta.doc_title || "");
    return {
      title: String(hit.title || ""),
      url: hit.url || null,
      codi: hit.codi || null,
      reference: hit.codi ? T.code + hit.codi : (hit.kind === "faq" ? "" : (hit.article || "")),
      origin: String(origin)
    };
  }

  function answerView(answer) {
    return {
      answer: String(answer.answer || ""),
      grounded: answer.grounded !== false,
      sources: (answer.sources || []).map(sourceView),
      conversation_id: answer.conversation_id || null,
      message_id: answer.message_id || null,
      choices: (answer.choices || []).map(function (c) { return { codi: c.codi, title: c.title }; })
    };
  }

  // ---- the widget ----------------------------------------------------------------
  var host = el("div", { id: HOST_ID });
  // Through the CSSOM, not a style attribute: a strict Content-Security-Policy allows it.
  host.style.display = "none";
  var root = host.attachShadow({ mode: "open" });
  var state = { open: false, busy: false, conversationId: null, seq: 0, controller: null, turns: [] };

  var stylesheet = el("link", { rel: "stylesheet", href: API + "/static/widget.css" });
  // Show nothing until our CSS is in, so the page never sees an unstyled flash.
  function reveal() {
    host.style.display = "";
    if (state.open) scrollToEnd(); // a restored conversation opens at its latest answer
  }
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);

  var launcher = el("button", {
    type: "button",
    className: "cnc-launcher",
    "aria-label": T.open,
    "aria-expanded": "false",
    "aria-controls": "cnc-panel",
    onclick: function () { setOpen(!state.open); }
  }, [icon(ICONS.chat), el("span", { className: "cnc-launcher-text", text: T.launcher })]);

  // Not a live region: a streaming answer would be read again at every frame.
  var log = el("div", {
    className: "cnc-log",
    role: "region",
    "aria-label": T.logLabel,
    tabindex: "0"
  });
  // Each complete answer is announced here once.
  var announcer = el("div", { className: "cnc-sr", "aria-live": "polite", "aria-atomic": "true" });

  var input = el("textarea", {
    id: "cnc-input",
    className: "cnc-input",
    rows: "2",
    maxlength: String(MAX_CHARS),
    placeholder: T.placeholder,
    "aria-describedby": "cnc-status",
    onkeydown: function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    }
  });
  var sendButton = el("button", { type: "submit", className: "cnc-send", "aria-label": T.send },
    [icon(ICONS.send)]);
  var status = el("p", { id: "cnc-status", className: "cnc-status", role: "status" });
  var reference = el("p", { className: "cnc-reference", hidden: true });
  var form = el("form", {
    className: "cnc-form",
    onsubmit: function (event) { event.preventDefault(); submit(); }
  }, [el("label", { className: "cnc-sr", for: "cnc-input", text: T.inputLabel }), input, sendButton]);
  // The visible words are the accessible name (WCAG 2.5.3); the title explains them.
  var resetButton = el("button", {
    type: "button", className: "cnc-reset", title: T.resetLabel, text: T.reset,
    onclick: function () { resetConversation(); }
  });

  var panel = el("section", {
    id: "cnc-panel",
    className: "cnc-panel",
    role: "dialog",
    "aria-modal": "true",
    "aria-labelledby": "cnc-title",
    hidden: true
  }, [
    // A plain div: a <header> here would be a second "banner" landmark on the host page.
    el("div", { className: "cnc-header" }, [
      el("div", { className: "cnc-heading" }, [
        el("h2", { id: "cnc-title", className: "cnc-title", text: T.title }),
        el("p", { className: "cnc-subtitle", text: T.subtitle })
      ]),
      resetButton,
      el("button", {
        type: "button", className: "cnc-close", "aria-label": T.close,
        onclick: function () { setOpen(false); }
      }, [icon(ICONS.close)])
    ]),
    reference,
    log,
    announcer,
    status,
    form
  ]);

  root.appendChild(stylesheet);
  root.appendChild(el("div", { className: "cnc-root" }, [panel, launcher]));
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && state.open) {
      event.stopPropagation();
      setOpen(false);
    } else if (event.key === "Tab" && state.open) {
      keepFocusInPanel(event);
    }
  });

  // Tab from the last control goes back to the first, Shift+Tab from the first to the
  // last: the focus never wanders to the page behind the open panel.
  function focusables() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("button, a[href], textarea, [tabindex='0']"),
      function (node) { return !node.disabled && node.getClientRects().length > 0; }
    );
  }

  function keepFocusInPanel(event) {
    var items = focusables();
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    var active = root.activeElement;
    if (event.shiftKey && (active === first || !panel.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !panel.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  function setOpen(open, options) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.classList.toggle("cnc-launcher-open", open);
    store.save();
    var quiet = options && options.quiet; // restoring after a reload: leave the focus be
    if (open) {
      if (!log.childNodes.length) welcome();
      loadReferenceDate();
      if (!quiet) input.focus();
    } else if (!quiet) {
      launcher.focus();
    }
  }

  var referenceRequested = false;
  function loadReferenceDate() {
    if (referenceRequested) return;
    referenceRequested = true;
    fetch(API + "/api/reference-date").then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.fixed && typeof body.text === "string") {
        reference.textContent = T.referenceDate + body.text;
        reference.hidden = false;
      }
    }).catch(function () { /* the date is a courtesy: answers already use it */ });
  }

  function welcome() {
    var examples = el("ul", { className: "cnc-examples", "aria-label": T.examplesLabel });
    T.examples.forEach(function (question) {
      examples.appendChild(el("li", null, [el("button", {
        type: "button", className: "cnc-example", text: question,
        onclick: function () { input.value = question; submit(); }
      })]));
    });
    log.appendChild(el("div", { className: "cnc-msg cnc-msg-bot cnc-welcome" }, [
      el("p", { text: T.welcome }), state.turns.length ? null : examples
    ]));
  }

  function setStatus(text) { status.textContent = text || ""; }

  function setBusy(busy) {
    state.busy = busy;
    sendButton.disabled = busy;
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function userMessage(turn) {
    var text = turn.focus ? turn.text + T.about + turn.focus.title + "»" : turn.text;
    return el("div", { className: "cnc-msg cnc-msg-user" }, [
      el("span", { className: "cnc-sr", text: T.you + ": " }), el("p", { text: text })
    ]);
  }

  function pendingMessage() {
    var body = el("div", { className: "cnc-answer" }, [
      el("p", { className: "cnc-thinking" }, [
        el("span", { className: "cnc-dots", "aria-hidden": "true" }), T.thinking
      ])
    ]);
    var node = el("div", { className: "cnc-msg cnc-msg-bot", "aria-busy": "true" }, [
      el("span", { className: "cnc-sr", text: T.assistant + ": " }), body
    ]);
    return { node: node, body: body, text: "", ctx: { sources: [], cards: [] } };
  }

  function errorMessage(turn) {
    var notice = turn.kind === "busy";
    return el("div", { className: "cnc-msg cnc-msg-bot " + (notice ? "cnc-msg-notice" : "cnc-msg-error") }, [
      el("p", { role: notice ? null : "alert", text: turn.text }),
      turn.ref ? el("p", { className: "cnc-error-ref", text: T.errorRef + turn.ref }) : null
    ]);
  }

  // The citations of each drawn answer point at its source list (redrawn with the cards).
  var contexts = typeof WeakMap === "function" ? new WeakMap() : null;

  // A complete answer: text, sources (with their cards), resource choices and ratings.
  function answerMessage(turn, index) {
    var answer = turn.answer;
    var ctx = { sources: answer.sources, cards: [] };
    var body = el("div", { className: "cnc-answer" });
    var node = el("div", { className: "cnc-msg cnc-msg-bot" + (answer.grounded ? "" : " cnc-msg-ungrounded") }, [
      el("span", { className: "cnc-sr", text: T.assistant + ": " }), body
    ]);
    body.appendChild(renderMarkdown(answer.answer, ctx));
    var sources = sourceCards(ctx, turn.cards || {});
    if (sources) body.appendChild(sources);
    var choices = answer.choices.length ? choiceButtons(turn, index) : null;
    if (choices) body.appendChild(choices);
    body.appendChild(feedbackBar(turn));
    if (contexts) contexts.set(node, ctx);
    return node;
  }

  function render() {
    log.textContent = "";
    welcome();
    state.turns.forEach(function (turn, index) {
      if (turn.role === "user") log.appendChild(userMessage(turn));
      else if (turn.role === "bot") log.appendChild(answerMessage(turn, index));
      else log.appendChild(errorMessage(turn));
    });
  }

  function remember(turn) {
    state.turns.push(turn);
    store.save();
    return state.turns.length - 1;
  }

  function submit(focus) {
    if (state.busy) return;
    var question = focus ? focus.question : input.value.trim();
    if (!question) { setStatus(T.empty); input.focus(); return; }
    if (question.length > MAX_CHARS) { setStatus(T.tooLong); return; }
    setStatus("");
    if (!focus) input.value = "";
    var examples = log.querySelector(".cnc-welcome .cnc-examples");
    if (examples) examples.remove();
    var userTurn = { role: "user", text: question };
    if (focus) userTurn.focus = { codi: focus.codi, title: focus.title };
    remember(userTurn);
    log.appendChild(userMessage(userTurn));
    var message = pendingMessage();
    log.appendChild(message.node);
    scrollToEnd();
    setBusy(true);
    var seq = ++state.seq;
    if (state.controller) state.controller.abort();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    state.controller = controller;
    var finished = false;
    var pending = false;

    // The draft is drawn at most once a frame, in a busy region screen readers skip.
    function paint() {
      pending = false;
      if (finished || seq !== state.seq) return;
      message.body.textContent = "";
      message.body.appendChild(renderMarkdown(message.text, message.ctx));
      scrollToEnd();
    }

    // The final event settles the question: the next one can be sent at once, while the
    // stream's end is still on its way (a busy server may close it seconds later).
    function ready() {
      if (seq !== state.seq) return;
      setBusy(false);
    }

    var body = { question: question, conversation_id: state.conversationId };
    if (focus) body.focus = focus.codi;
    fetch(API + "/api/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok || !response.body) {
        return errorDetail(response).then(function (detail) {
          if (response.status === 429) throw new UserError(detail || T.busy, null, "busy");
          throw new UserError(detail || T.generic, requestId(response));
        });
      }
      return readEvents(response, function (name, data) {
        if (seq !== state.seq) return; // a newer question or conversation took over
        if (name === "start") {
          if (data.conversation_id) state.conversationId = data.conversation_id;
        } else if (name === "delta") {
          message.text += data.text || "";
          if (!pending) { pending = true; requestAnimationFrame(paint); }
        } else if (name === "sources") {
          finished = true;
          finish(message, data);
          ready();
        } else if (name === "error") {
          finished = true;
          fail(message, { role: "error", text: data.message || T.generic });
          ready();
        }
      });
    }).then(function () {
      if (!finished && seq === state.seq) fail(message, { role: "error", text: T.interrupted });
    }).catch(function (error) {
      if (seq !== state.seq) return; // aborted: reset or a newer question
      if (error instanceof UserError && error.kind === "busy") {
        busy(message, userTurn, error.message, focus);
      } else if (error instanceof UserError) {
        fail(message, { role: "error", text: error.message, ref: error.requestId });
      } else {
        fail(message, { role: "error", text: T.network });
      }
    }).then(function () {
      if (seq !== state.seq) return;
      state.controller = null;
      setBusy(false);
      scrollToEnd();
    });
  }

  function fail(message, turn) {
    remember(turn);
    message.node.replaceWith(errorMessage(turn));
  }

  // Too many requests (429): say so kindly, in the server's words, and keep the question.
  function busy(message, userTurn, detail, focus) {
    state.turns.splice(state.turns.indexOf(userTurn), 1);
    var turn = { role: "error", kind: "busy", text: detail + (focus ? "" : T.busyKept) };
    remember(turn);
    message.node.previousSibling.remove();
    message.node.replaceWith(errorMessage(turn));
    if (!focus) input.value = userTurn.text;
  }

  // The final event is authoritative: its answer replaces the streamed text.
  function finish(message, answer) {
    if (answer.conversation_id) state.conversationId = answer.conversation_id;
    var turn = { role: "bot", answer: answerView(answer), cards: {} };
    var index = remember(turn);
    var node = answerMessage(turn, index);
    message.node.replaceWith(node);
    announcer.textContent = T.assistant + ": " + plainText(turn.answer.answer);
    loadCards(turn, index, node);
  }

  // The catalogue resources of an answer get their card: window state and contacts.
  function loadCards(turn, index, node) {
    var codes = turn.answer.sources.map(function (s) { return s.codi; }).filter(Boolean);
    if (!codes.length) return;
    var seq = state.seq;
    var query = codes.map(function (c) { return "codi=" + encodeURIComponent(c); }).join("&");
    fetch(API + "/api/cards?" + query).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (!body || seq !== state.seq || state.turns[index] !== turn) return;
      (body.cards || []).forEach(function (card) {
        turn.cards[card.codi] = {
          window: card.window ? card.window.text : "",
          contacts: (card.contacts || []).map(function (c) { return { label: c.label, href: c.href }; })
        };
      });
      store.save();
      // Only the source list is drawn again; the focus, if it was there, stays in it.
      var old = node.querySelector(".cnc-sources-box");
      var ctx = (contexts && contexts.get(node)) || { sources: turn.answer.sources, cards: [] };
      var fresh = sourceCards(ctx, turn.cards);
      if (!old || !fresh) return;
      var focused = root.activeElement && old.contains(root.activeElement);
      old.replaceWith(fresh);
      var first = fresh.querySelector("a");
      if (focused && first) first.focus();
    }).catch(function () { /* the answer already states the window and contacts */ });
  }

  function sourceCards(ctx, cards) {
    if (!ctx.sources.length) return null;
    var list = el("ol", { className: "cnc-sources" });
    ctx.cards = ctx.sources.map(function (source, index) {
      var href = source.url ? safeUrl(source.url) : null;
      var details = source.codi ? cards[source.codi] : null;
      var extra = null;
      if (details) {
        var contacts = details.contacts.map(function (c) {
          var target = c.href ? safeUrl(c.href) : null;
          return target ? link(target, c.label, "cnc-contact") : el("span", { text: c.label });
        });
        extra = el("span", { className: "cnc-source-card" }, [
          details.window ? el("span", { className: "cnc-window", text: T.window + details.window }) : null
        ].concat(contacts.length ? [el("span", { className: "cnc-contacts" }, interleave(contacts, " · "))] : []));
      }
      var card = el("li", { className: "cnc-source", tabindex: "-1" }, [
        el("span", { className: "cnc-source-n", "aria-hidden": "true", text: String(index + 1) }),
        el("div", { className: "cnc-source-body" }, [
          href ? link(href, source.title, "cnc-source-title")
            : el("span", { className: "cnc-source-title", text: source.title }),
          el("span", { className: "cnc-source-meta", text: [source.reference, source.origin].filter(Boolean).join(" · ") }),
          extra
        ])
      ]);
      list.appendChild(card);
      return card;
    });
    return el("div", { className: "cnc-sources-box" }, [
      el("p", { className: "cnc-sources-title", text: T.sources }), list
    ]);
  }

  function interleave(nodes, separator) {
    var out = [];
    nodes.forEach(function (node, i) {
      if (i) out.push(separator);
      out.push(node);
    });
    return out;
  }

  // A follow-up answered for each listed resource: one button per resource asks the
  // same question about that one alone (`focus` in the request).
  function choiceButtons(turn, index) {
    var question = null;
    for (var i = index - 1; i >= 0; i--) {
      if (state.turns[i].role === "user") { question = state.turns[i].text; break; }
    }
    if (!question) return null;
    var list = el("ul", { className: "cnc-choices", "aria-label": T.choicesLead });
    turn.answer.choices.forEach(function (choice) {
      list.appendChild(el("li", null, [el("button", {
        type: "button",
        className: "cnc-choice",
        "data-codi": choice.codi,
        onclick: function () { submit({ question: question, codi: choice.codi, title: choice.title }); }
      }, [
        el("span", { className: "cnc-sr", text: T.choiceLabel }),
        el("span", { className: "cnc-choice-code", text: choice.codi }), " " + choice.title
      ])]));
    });
    return el("div", { className: "cnc-choices-box" }, [
      el("p", { className: "cnc-choices-lead", "aria-hidden": "true", text: T.choicesLead }), list
    ]);
  }

  function feedbackBar(turn) {
    var answer = turn.answer;
    var note = el("span", { className: "cnc-feedback-note", role: "status" });
    var buttons = [];
    function rate(rating, button) {
      buttons.forEach(function (b) { b.disabled = true; });
      button.setAttribute("aria-pressed", "true");
      fetch(API + "/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          conversation_id: answer.conversation_id,
          message_id: answer.message_id || null,
          rating: rating
        })
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        note.textContent = T.thanks;
        turn.rating = rating;
        store.save();
      }).catch(function () {
        note.textContent = T.feedbackFailed;
        button.setAttribute("aria-pressed", "false");
        buttons.forEach(function (b) { b.disabled = false; });
      });
    }
    [[1, T.useful, ICONS.up], [-1, T.notUseful, ICONS.down]].forEach(function (spec) {
      var rated = turn.rating !== undefined;
      var button = el("button", {
        type: "button", className: "cnc-rate", "aria-label": spec[1], title: spec[1],
        "aria-pressed": String(turn.rating === spec[0]), "data-rating": String(spec[0]),
        disabled: rated
      }, [icon(spec[2])]);
      button.addEventListener("click", function () { rate(spec[0], button); });
      buttons.push(button);
    });
    return el("div", { className: "cnc-feedback" }, buttons.concat([note]));
  }

  function resetConversation() {
    var old = state.conversationId;
    state.conversationId = null;
    state.seq += 1; // ignore events still arriving for the old conversation
    if (state.controller) state.controller.abort(); // and stop the old stream itself
    state.controller = null;
    state.turns = [];
    store.clear();
    setBusy(false);
    if (old) {
      fetch(API + "/api/conversations/" + encodeURIComponent(old), { method: "DELETE" })
        .catch(function () { /* the server forgets idle conversations anyway */ });
    }
    render();
    store.save();
    setStatus(T.newConversation);
    input.value = "";
    input.focus();
  }

  // A conversation of this tab survives reloads and the portal's other pages.
  var saved = store.load();
  if (saved) {
    state.conversationId = typeof saved.conversationId === "string" ? saved.conversationId : null;
    state.turns = saved.turns.filter(function (t) { return t && (t.role === "user" || t.role === "bot" || t.role === "error"); });
    render();
    if (saved.open) setOpen(true, { quiet: true });
  }

  function mount() {
    document.body.appendChild(host);
    if (state.open) scrollToEnd();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

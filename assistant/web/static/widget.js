/*
 * Concerta chat widget. Embed on any page with one tag:
 *   <script src="https://<servidor>/widget.js" defer></script>
 * The API base is the folder this script was loaded from (override with data-api="...").
 * Everything lives in a shadow root, so the host page's CSS and ours never mix, and the
 * whole file is one closure: nothing is added to window.
 * Answers stream from POST /api/ask/stream (Server-Sent Events read with fetch, since
 * EventSource cannot POST). Text from the server is never parsed as HTML.
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

  var T = {
    open: "Obre l'assistent del Pla XGL",
    launcher: "Pregunta",
    title: "Assistent del Pla XGL",
    subtitle: "Catàleg de serveis i normativa",
    close: "Tanca l'assistent",
    reset: "Nova conversa",
    resetLabel: "Comença una conversa nova",
    inputLabel: "Escriu la teva pregunta",
    placeholder: "Escriu la teva pregunta…",
    send: "Envia",
    welcome: "Hola! Sóc l'assistent del Pla de concertació Xarxa de Governs Locals. " +
      "Pregunta'm pels recursos del Catàleg de serveis, terminis, justificacions o la normativa.",
    examplesLabel: "Exemples de preguntes",
    examples: [
      "Hi ha ajuts per posar wifi a la plaça?",
      "Fins quan es pot justificar un ajut?",
      "Quins recursos hi ha per a municipis petits?"
    ],
    you: "Tu",
    assistant: "Assistent",
    thinking: "Cercant en el catàleg i la normativa…",
    sources: "Fonts",
    sourceN: "Font ",
    code: "Codi ",
    useful: "Resposta útil",
    notUseful: "Resposta no útil",
    thanks: "Gràcies per la valoració.",
    feedbackFailed: "No s'ha pogut desar la valoració.",
    empty: "Escriu una pregunta abans d'enviar-la.",
    tooLong: "La pregunta és massa llarga: el màxim són 2.000 caràcters.",
    network: "No s'ha pogut connectar amb l'assistent. Comprova la connexió i torna-ho a provar.",
    generic: "S'ha produït un error inesperat. Torna-ho a provar d'aquí a una estona.",
    interrupted: "La resposta s'ha interromput. Torna-ho a provar.",
    errorRef: "Referència de l'error: ",
    newConversation: "Conversa nova. Què vols saber?",
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

  function safeUrl(url) {
    try {
      var parsed = new URL(url, document.baseURI);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  // ---- the answer Markdown subset: paragraphs, "- " bullets, **bold**, [text](url), [n] --
  var INLINE = /\*\*([^*]+)\*\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)|\[(\d{1,2})\]/g;

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
        parent.appendChild(href ? externalLink(href, match[2]) : document.createTextNode(match[2]));
      } else {
        parent.appendChild(citation(parseInt(match[4], 10), ctx));
      }
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function externalLink(href, label) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
      label, el("span", { className: "cnc-sr", text: T.opensNewWindow })
    ]);
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
      return body && typeof body.detail === "string" ? body.detail : T.generic;
    }, function () {
      return T.generic;
    });
  }

  // The server's id of a failed request, for the user to quote to the Pla XGL office.
  function requestId(response) {
    var id = response && response.headers ? response.headers.get("X-Request-ID") : null;
    return id && /^[0-9a-f]{8,64}$/i.test(id) ? id : null;
  }

  // ---- the widget ----------------------------------------------------------------
  var host = el("div", { id: HOST_ID, style: "display:none" });
  var root = host.attachShadow({ mode: "open" });
  var state = { open: false, busy: false, conversationId: null, seq: 0 };

  var stylesheet = el("link", { rel: "stylesheet", href: API + "/static/widget.css" });
  // Show nothing until our CSS is in, so the page never sees an unstyled flash.
  function reveal() { host.style.display = ""; }
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

  var log = el("div", {
    className: "cnc-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions text",
    "aria-label": T.title,
    tabindex: "0"
  });

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
  var form = el("form", {
    className: "cnc-form",
    onsubmit: function (event) { event.preventDefault(); submit(); }
  }, [el("label", { className: "cnc-sr", for: "cnc-input", text: T.inputLabel }), input, sendButton]);

  var panel = el("section", {
    id: "cnc-panel",
    className: "cnc-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": "cnc-title",
    hidden: true
  }, [
    el("header", { className: "cnc-header" }, [
      el("div", { className: "cnc-heading" }, [
        el("h2", { id: "cnc-title", className: "cnc-title", text: T.title }),
        el("p", { className: "cnc-subtitle", text: T.subtitle })
      ]),
      el("button", {
        type: "button", className: "cnc-reset", "aria-label": T.resetLabel, text: T.reset,
        onclick: function () { resetConversation(); }
      }),
      el("button", {
        type: "button", className: "cnc-close", "aria-label": T.close,
        onclick: function () { setOpen(false); }
      }, [icon(ICONS.close)])
    ]),
    log,
    status,
    form
  ]);

  root.appendChild(stylesheet);
  root.appendChild(el("div", { className: "cnc-root" }, [panel, launcher]));
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && state.open) {
      event.stopPropagation();
      setOpen(false);
    }
  });

  function setOpen(open) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.classList.toggle("cnc-launcher-open", open);
    if (open) {
      if (!log.childNodes.length) welcome();
      input.focus();
    } else {
      launcher.focus();
    }
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
      el("p", { text: T.welcome }), examples
    ]));
  }

  function setStatus(text) { status.textContent = text || ""; }

  function setBusy(busy) {
    state.busy = busy;
    sendButton.disabled = busy;
    log.setAttribute("aria-busy", String(busy));
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function addUserMessage(text) {
    log.appendChild(el("div", { className: "cnc-msg cnc-msg-user" }, [
      el("span", { className: "cnc-sr", text: T.you + ": " }), el("p", { text: text })
    ]));
  }

  function addBotMessage() {
    var body = el("div", { className: "cnc-answer" }, [
      el("p", { className: "cnc-thinking" }, [
        el("span", { className: "cnc-dots", "aria-hidden": "true" }), T.thinking
      ])
    ]);
    var node = el("div", { className: "cnc-msg cnc-msg-bot" }, [
      el("span", { className: "cnc-sr", text: T.assistant + ": " }), body
    ]);
    log.appendChild(node);
    return { node: node, body: body, text: "", ctx: { sources: [], cards: [] } };
  }

  function showError(message, text, id) {
    message.body.textContent = "";
    message.node.classList.add("cnc-msg-error");
    message.body.appendChild(el("p", { role: "alert", text: text }));
    if (id) message.body.appendChild(el("p", { className: "cnc-error-ref", text: T.errorRef + id }));
  }

  function submit() {
    if (state.busy) return;
    var question = input.value.trim();
    if (!question) { setStatus(T.empty); input.focus(); return; }
    if (question.length > MAX_CHARS) { setStatus(T.tooLong); return; }
    setStatus("");
    input.value = "";
    var welcomeNode = log.querySelector(".cnc-welcome .cnc-examples");
    if (welcomeNode) welcomeNode.remove();
    addUserMessage(question);
    var message = addBotMessage();
    scrollToEnd();
    setBusy(true);
    var seq = ++state.seq;
    var finished = false;
    var pending = false;

    function paint() {
      pending = false;
      if (finished || seq !== state.seq) return; // the final answer is already drawn
      message.body.textContent = "";
      message.body.appendChild(renderMarkdown(message.text, message.ctx));
      scrollToEnd();
    }

    fetch(API + "/api/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question: question, conversation_id: state.conversationId })
    }).then(function (response) {
      if (!response.ok || !response.body) {
        return errorDetail(response).then(function (detail) {
          throw new UserError(detail, requestId(response));
        });
      }
      return readEvents(response, function (name, data) {
        if (seq !== state.seq) return; // a newer conversation took over
        if (name === "start") {
          if (data.conversation_id) state.conversationId = data.conversation_id;
        } else if (name === "delta") {
          message.text += data.text || "";
          if (!pending) { pending = true; requestAnimationFrame(paint); }
        } else if (name === "sources") {
          finished = true;
          finish(message, data);
        } else if (name === "error") {
          finished = true;
          showError(message, data.message || T.generic);
        }
      });
    }).then(function () {
      if (!finished && seq === state.seq) showError(message, T.interrupted);
    }).catch(function (error) {
      if (seq !== state.seq) return;
      if (error instanceof UserError) showError(message, error.message, error.requestId);
      else showError(message, T.network);
    }).then(function () {
      if (seq !== state.seq) return;
      setBusy(false);
      scrollToEnd();
    });
  }

  function UserError(message, id) { this.message = message; this.requestId = id || null; }

  // The final event is authoritative: its answer replaces the streamed text.
  function finish(message, answer) {
    if (answer.conversation_id) state.conversationId = answer.conversation_id;
    message.text = answer.answer || "";
    message.ctx.sources = answer.sources || [];
    message.body.textContent = "";
    if (answer.grounded === false) message.node.classList.add("cnc-msg-ungrounded");
    var cards = sourceCards(message.ctx);
    message.body.appendChild(renderMarkdown(message.text, message.ctx));
    if (cards) message.body.appendChild(cards);
    message.body.appendChild(feedbackBar(answer));
  }

  function sourceCards(ctx) {
    if (!ctx.sources.length) return null;
    var list = el("ol", { className: "cnc-sources" });
    ctx.cards = ctx.sources.map(function (hit, index) {
      var href = hit.url ? safeUrl(hit.url) : null;
      var reference = hit.codi ? T.code + hit.codi : hit.article;
      var card = el("li", { className: "cnc-source", tabindex: "-1" }, [
        el("span", { className: "cnc-source-n", "aria-hidden": "true", text: String(index + 1) }),
        el("div", { className: "cnc-source-body" }, [
          href ? el("a", { className: "cnc-source-title", href: href, target: "_blank",
            rel: "noopener noreferrer" }, [hit.title, el("span", { className: "cnc-sr", text: T.opensNewWindow })])
            : el("span", { className: "cnc-source-title", text: hit.title }),
          el("span", { className: "cnc-source-meta", text: [reference, hit.source].filter(Boolean).join(" · ") })
        ])
      ]);
      list.appendChild(card);
      return card;
    });
    return el("div", { className: "cnc-sources-box" }, [
      el("p", { className: "cnc-sources-title", text: T.sources }), list
    ]);
  }

  function feedbackBar(answer) {
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
      }).catch(function () {
        note.textContent = T.feedbackFailed;
        button.setAttribute("aria-pressed", "false");
        buttons.forEach(function (b) { b.disabled = false; });
      });
    }
    [[1, T.useful, ICONS.up], [-1, T.notUseful, ICONS.down]].forEach(function (spec) {
      var button = el("button", {
        type: "button", className: "cnc-rate", "aria-label": spec[1], title: spec[1],
        "aria-pressed": "false", "data-rating": String(spec[0])
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
    setBusy(false);
    if (old) {
      fetch(API + "/api/conversations/" + encodeURIComponent(old), { method: "DELETE" })
        .catch(function () { /* the server forgets idle conversations anyway */ });
    }
    log.textContent = "";
    welcome();
    setStatus(T.newConversation);
    input.value = "";
    input.focus();
  }

  function mount() { document.body.appendChild(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

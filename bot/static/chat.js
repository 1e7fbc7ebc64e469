/* Træningsguiden chat page (citizen and staff). No Danish here: every string comes
   from the JSON block #chat-config, rendered by bot/web/chat.py from bot/data/copy_web_da.yml.
   Every text from the user or the bot is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var t = config.text;
  var staff = config.mode === "staff";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');

  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var inputError = document.getElementById("message-error");

  /* The conversation (its id and what was shown) lives in sessionStorage, not
     localStorage or a cookie: a reload in the same tab resumes it, and closing
     the tab forgets it, which is what a citizen on a shared computer (library,
     care home, relative's phone) needs. Staff and citizen keep separate ones. */
  var STORE_KEY = "traeningsguiden." + config.mode + "." + (config.kommune || "-");
  var state = load() || fresh();
  var busy = false;
  var counter = 0;

  function randomId() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return out;
  }

  function fresh() {
    return {
      sender: randomId(),
      items: [{ from: "bot", messages: [{ text: t.welcome, buttons: t.topics.map(function (topic) {
        return { title: topic.label, payload: topic.payload };
      }) }] }]
    };
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.sender === "string" && Array.isArray(saved.items)) {
        return saved;
      }
    } catch (e) {
      /* unreadable or blocked storage: start a new conversation */
    }
    return null;
  }

  function save() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) {
      /* storage full or blocked: the conversation still works, it just will not survive a reload */
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function nextId(prefix) {
    counter += 1;
    return prefix + "-" + counter;
  }

  /* --- rendering ------------------------------------------------------------------- */

  function speaker(name) {
    return el("span", "visually-hidden", name + ": ");
  }

  function renderUser(text) {
    var item = el("div", "msg user");
    var bubble = el("p", "bubble");
    bubble.appendChild(speaker(t.you));
    bubble.appendChild(document.createTextNode(text));
    item.appendChild(bubble);
    log.appendChild(item);
  }

  function renderText(message) {
    var item = el("div", "msg bot" + (message.error ? " error" : ""));
    var bubble = el("p", "bubble");
    bubble.id = nextId("m");
    bubble.appendChild(speaker(t.bot));
    bubble.appendChild(document.createTextNode(message.text));
    item.appendChild(bubble);
    log.appendChild(item);
    return { item: item, bubble: bubble };
  }

  function renderButtons(item, labelId, buttons) {
    var group = el("div", "options");
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", labelId);
    buttons.forEach(function (button) {
      var b = el("button", "option", button.title);
      b.type = "button";
      b.addEventListener("click", function () { send(button.payload, button.title); });
      group.appendChild(b);
    });
    item.appendChild(group);
    return group;
  }

  function list(tag, texts) {
    var node = el(tag);
    texts.forEach(function (text) { node.appendChild(el("li", null, text)); });
    return node;
  }

  function safeHref(url) {
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function contactBlock(contact) {
    var block = el("div", "contact-block");
    block.appendChild(el("p", "contact-name", contact.name));
    var dl = el("dl", "contact");
    block.appendChild(dl);
    function row(label, value, href) {
      if (!value) { return; }
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      if (href) {
        var a = el("a", null, value);
        a.href = href;
        dd.appendChild(a);
      } else {
        dd.textContent = value;
      }
      dl.appendChild(dd);
    }
    row(t.address, contact.address);
    row(t.phone, contact.phone, contact.phone ? "tel:" + contact.phone.replace(/[^0-9+]/g, "") : null);
    row(t.email, contact.email, contact.email ? "mailto:" + contact.email : null);
    row(contact.hours_label || t.hours, contact.hours);
    if (contact.open_text) {
      block.appendChild(el("p", "open-now", contact.open_text));
    } else if (contact.open_now === true || contact.open_now === false) {
      block.appendChild(el("p", "open-now", contact.open_now ? t.open_now : t.closed_now));
    }
    if (contact.inferred_note) {
      block.appendChild(el("p", "inferred", contact.inferred_note));
    }
    return block;
  }

  function section(card, heading, body) {
    card.appendChild(el("h3", null, heading));
    card.appendChild(body);
  }

  function renderOutcome(outcome) {
    var card = el("section", "card outcome");
    var heading = el("h2", null, outcome.title);
    heading.id = nextId("outcome");
    heading.tabIndex = -1;
    card.setAttribute("aria-labelledby", heading.id);
    card.appendChild(el("p", "eyebrow", t.outcome_label));
    card.appendChild(heading);
    if (outcome.description) { card.appendChild(el("p", "description", outcome.description)); }
    var h = t.headings;
    if (outcome.reasons && outcome.reasons.length) {
      section(card, h.why, list("ul", outcome.reasons.map(function (r) { return r.text; })));
    }
    if (outcome.unknowns && outcome.unknowns.length) {
      section(card, h.unknowns, list("ul", outcome.unknowns.map(function (u) { return u.text; })));
    }
    if (outcome.why_not && outcome.why_not.length) {
      section(card, h.why_not, list("ul", outcome.why_not.map(function (r) { return r.text; })));
    }
    if (outcome.legal_basis && outcome.legal_basis.length) {
      section(card, h.legal, list("ul", outcome.legal_basis.map(function (ref) {
        return ref.citation + (ref.needs_confirmation ? " (" + t.needs_confirmation + ")" : "");
      })));
    }
    if (outcome.next_steps && outcome.next_steps.length) {
      section(card, h.next, list("ol", outcome.next_steps.map(function (s) { return s.text; })));
    }
    if (outcome.complaint && outcome.complaint.lines && outcome.complaint.lines.length) {
      section(card, h.complaint, list("ul", outcome.complaint.lines));
    }
    if (outcome.contact) {
      section(card, h.contact, contactBlock(outcome.contact));
    }
    card.appendChild(el("p", "decides", t.decides));
    var item = el("div", "msg bot wide");
    item.appendChild(card);
    log.appendChild(item);
    return heading;
  }

  function renderDraft(draft) {
    var href = safeHref(draft.url);
    if (!href) { return null; }
    var card = el("section", "card draft");
    var heading = el("h2", null, t.draft_ready);
    heading.id = nextId("draft");
    card.setAttribute("aria-labelledby", heading.id);
    card.appendChild(heading);
    var p = el("p");
    var a = el("a", null, t.draft_open.replace("{reference}", draft.reference) + " ");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(el("span", "new-tab", t.draft_new_tab));
    p.appendChild(a);
    card.appendChild(p);
    var item = el("div", "msg bot wide");
    item.appendChild(card);
    log.appendChild(item);
    return a;
  }

  /* Render one bot turn; returns where focus should go when it is the newest turn. Each message
     is one whole reply: its text, its buttons and its custom data (README: REST contract). An
     outcome's card shows what its text says, so the card replaces the text. */
  function renderBot(messages, interactive) {
    var focus = { outcome: null, button: null, draft: null, kind: null };
    var lastGroup = null;
    for (var i = 0; i < messages.length; i++) {
      var m = messages[i];
      var custom = m.custom || {};
      if (custom.outcome) {
        focus.outcome = renderOutcome(custom.outcome);
        focus.button = null;
      } else if (m.text) {
        var shown = renderText(m);
        if (m.buttons && m.buttons.length && interactive) {
          lastGroup = renderButtons(shown.item, shown.bubble.id, m.buttons);
          focus.button = lastGroup.querySelector("button");
        }
      }
      if (custom.draft) {
        focus.draft = renderDraft(custom.draft);
      }
      if (custom.question) {
        focus.kind = custom.question.kind;
        if (lastGroup) { lastGroup.setAttribute("data-fact", custom.question.fact); }
        if (interactive) { form.setAttribute("data-pending", custom.question.fact); }
      }
      if (custom.staff && staff) {
        updatePanel(custom.staff);
      }
    }
    if (staff && interactive) { updateDraftButton(messages); }
    return focus;
  }

  function clearOptions() {
    var groups = log.querySelectorAll(".options");
    for (var i = 0; i < groups.length; i++) {
      groups[i].parentNode.removeChild(groups[i]);
    }
  }

  function renderAll() {
    log.setAttribute("aria-busy", "true"); /* a restored transcript is not read out again */
    log.textContent = "";
    var lastBot = -1;
    state.items.forEach(function (item, index) { if (item.from === "bot") { lastBot = index; } });
    state.items.forEach(function (item, index) {
      if (item.from === "user") {
        renderUser(item.text);
      } else {
        renderBot(item.messages, index === lastBot);
      }
    });
    log.setAttribute("aria-busy", "false");
  }

  function focusAfter(focus) {
    var target = focus.outcome || focus.button || focus.draft || input;
    target.focus();
    if (target.scrollIntoView) { target.scrollIntoView({ block: "nearest" }); }
  }

  /* --- staff panel ------------------------------------------------------------------- */

  function updatePanel(data) {
    var facts = document.getElementById("panel-facts");
    var criteria = document.getElementById("panel-criteria");
    var legal = document.getElementById("panel-legal");
    var end = document.getElementById("panel-end");
    if (!facts) { return; }
    facts.textContent = "";
    if (data.facts && data.facts.length) {
      var dl = el("dl", "facts");
      data.facts.forEach(function (f) {
        dl.appendChild(el("dt", null, f.label));
        dl.appendChild(el("dd", null, f.value));
      });
      facts.appendChild(dl);
    } else {
      facts.appendChild(el("p", "empty", t.panel_empty));
    }
    criteria.textContent = "";
    (data.criteria || []).forEach(function (c) {
      var li = el("li", "criterion " + c.status);
      li.appendChild(el("span", "criterion-status", (c.status_label || t.status[c.status] || c.status) + ": "));
      li.appendChild(document.createTextNode(c.label));
      criteria.appendChild(li);
    });
    if (!criteria.childNodes.length) { criteria.appendChild(el("li", "empty", t.panel_empty)); }
    legal.textContent = "";
    (data.legal_basis || []).forEach(function (ref) { legal.appendChild(el("li", null, ref)); });
    if (!legal.childNodes.length) { legal.appendChild(el("li", "empty", t.panel_empty)); }
    if (data.read_aloud) {
      document.getElementById("read-aloud-text").textContent = data.read_aloud;
      end.hidden = false;
    } else {
      end.hidden = true;
    }
    state.panel = data;
  }

  /* The draft button in the panel answers the bot's own "make a draft?" question with its
     "yes" button, so the draft dialogue stays the bot's (and the draft gets the initials). */
  function draftYes(messages) {
    for (var i = 0; i < messages.length; i++) {
      var buttons = messages[i].buttons || [];
      for (var j = 0; j < buttons.length; j++) {
        var payload = buttons[j].payload;
        if (payload.indexOf("/inform") === 0) {
          try {
            var entities = JSON.parse(payload.slice("/inform".length));
            if (entities.fact === "draft_offer" && entities.choice === "yes") { return payload; }
          } catch (e) { /* not an entity payload */ }
        }
      }
    }
    return null;
  }

  function updateDraftButton(messages) {
    var button = document.getElementById("draft-button");
    if (!button) { return; }
    state.draftPayload = draftYes(messages);
    button.hidden = !state.draftPayload;
    if (state.draftPayload) { document.getElementById("panel-end").hidden = false; }
  }

  /* --- sending ----------------------------------------------------------------------- */

  function showInputError(message) {
    inputError.textContent = message;
    inputError.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function post(message) {
    var headers = { "Content-Type": "application/json" };
    if (csrfMeta) { headers["X-CSRF-Token"] = csrfMeta.getAttribute("content"); }
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, config.timeout_ms) : null;
    return window.fetch(config.endpoint, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      /* staff: the server keeps the conversation id in the login session */
      body: JSON.stringify(staff ? { message: message, kommune: config.kommune }
        : { sender: state.sender, message: message, kommune: config.kommune }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 401 && config.login_needed) {
        return [{ text: config.login_needed, error: true }];
      }
      if (response.status === 403 && config.csrf_failed) {
        return [{ text: config.csrf_failed, error: true }];
      }
      return response.json().then(function (data) {
        if (!data || !Array.isArray(data.messages)) { throw new Error("bad answer"); }
        return data.messages;
      });
    }).catch(function () {
      return [{ text: t.offline + " " + config.bot_down, error: true }];
    }).then(function (messages) {
      if (timer) { window.clearTimeout(timer); }
      return messages;
    });
  }

  function send(message, shown) {
    if (busy) { return; }
    if (!message.trim()) { showInputError(t.empty); input.focus(); return; }
    if (message.length > config.max_length) { showInputError(t.too_long); input.focus(); return; }
    showInputError("");
    busy = true;
    clearOptions();
    form.removeAttribute("data-pending");
    if (staff) { updateDraftButton([]); }
    state.items.push({ from: "user", text: shown });
    save();
    renderUser(shown);
    statusLine.textContent = t.thinking;
    log.setAttribute("aria-busy", "true");
    post(message).then(function (messages) {
      busy = false;
      statusLine.textContent = "";
      state.items.push({ from: "bot", messages: messages });
      save();
      var focus = renderBot(messages, true);
      log.setAttribute("aria-busy", "false");
      focusAfter(focus);
    });
  }

  /* Logging out forgets the call in this tab: the next staff member starts empty. */
  var logout = document.querySelector("form.logout");
  if (logout) {
    logout.addEventListener("submit", function () {
      try { window.sessionStorage.removeItem(STORE_KEY); } catch (e) { /* nothing saved */ }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value;
    if (busy) { return; }
    send(message, message);
    if (message.trim() && message.length <= config.max_length) { input.value = ""; }
  });

  /* Staff: the server makes the new conversation id; the page starts over only when it has. */
  function startOver() {
    if (!config.restart_endpoint) { resetConversation(); return; }
    var headers = {};
    if (csrfMeta) { headers["X-CSRF-Token"] = csrfMeta.getAttribute("content"); }
    window.fetch(config.restart_endpoint, { method: "POST", headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) { resetConversation(); return; }
        if (response.status === 401 && config.login_needed) { statusLine.textContent = config.login_needed; return; }
        if (response.status === 403 && config.csrf_failed) { statusLine.textContent = config.csrf_failed; return; }
        throw new Error("restart failed");
      })
      .catch(function () { statusLine.textContent = t.offline + " " + config.bot_down; });
  }

  function resetConversation() {
    try { window.sessionStorage.removeItem(STORE_KEY); } catch (e) { /* nothing saved */ }
    state = fresh();
    save();
    if (staff) { clearPanel(); }
    renderAll();
    statusLine.textContent = t.started_over;
    input.value = "";
    showInputError("");
    input.focus();
  }

  function clearPanel() {
    updatePanel({ facts: [], criteria: [], legal_basis: [], read_aloud: null });
  }

  document.querySelector(".toolbar").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    if (action === "back") { send("/go_back", t.back); }
    if (action === "answers") { send("/show_answers", t.answers); }
    if (action === "restart") { startOver(); }
  });

  var draftButton = document.getElementById("draft-button");
  if (draftButton) {
    draftButton.addEventListener("click", function () {
      if (state.draftPayload) { send(state.draftPayload, t.panel_draft); }
    });
  }

  renderAll();
  if (staff) {
    if (state.panel) { updatePanel(state.panel); } else { clearPanel(); }
  }
}());

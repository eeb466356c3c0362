/* kyr-bot chat widget. Embed with one tag:
 *   <script src="https://BOT-HOST/widget.js" data-jurisdiction="orlando"
 *           data-language="es" data-title="..." data-exit-url="https://..." async></script>
 * It lives in a shadow root, talks only to the server it was loaded from, keeps the
 * conversation id in sessionStorage (gone when the tab closes), sets no cookies, and
 * renders every text from the bot or the person as text, never as HTML.
 * The server fills in CSS, STRINGS and LANGUAGES when it builds this file
 * (server/widget_bundle.py). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__kyrChat) return;
  window.__kyrChat = true;

  var CSS = __KYR_CSS__;
  var STRINGS = __KYR_STRINGS__;
  var LANGUAGES = __KYR_LANGUAGES__;
  var STORE_KEY = "kyr-chat";
  var SAFE_LINK = /^(https:|tel:|sms:|mailto:)$/;
  var DEFAULT_EXIT = "https://www.google.com/search?q=weather";

  var data = script.dataset;
  var base = new URL(script.src, location.href).origin;
  var jurisdiction = data.jurisdiction || "";
  var exitUrl = safeUrl(data.exitUrl, /^https:$/) || DEFAULT_EXIT;
  var session = readSession();
  var lang = known(session.lang) || known(data.language) || "en";
  var busy = false;

  function known(code) {
    for (var i = 0; i < LANGUAGES.length; i++) if (LANGUAGES[i].code === code) return code;
    return null;
  }
  function direction(code) {
    for (var i = 0; i < LANGUAGES.length; i++) if (LANGUAGES[i].code === code) return LANGUAGES[i].dir;
    return "ltr";
  }
  function t(key) {
    return (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || "";
  }
  function safeUrl(value, allowed) {
    try {
      var url = new URL(value);
      return allowed.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }
  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  // The tab's sessionStorage only, nothing longer-lived. Private modes may refuse it.
  function readSession() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE_KEY)) || {};
    } catch (e) {
      return {};
    }
  }
  function saveSession() {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({ id: session.id, lang: session.lang }));
    } catch (e) { /* memory only */ }
  }
  function conversationId() {
    if (!session.id) {
      session.id = newId();
      saveSession();
    }
    return session.id;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  // The element name is our own, so host rules like `div { display: none }` miss it.
  var host = el("kyr-chat");
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    // A constructed sheet also works under a host page's strict style-src policy.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", {}, CSS));
  }

  var frame = el("div", { "class": "kyr" });
  var launcher = el("button", { type: "button", "class": "launcher", "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": "kyr-panel" });
  var panel = el("section", { id: "kyr-panel", "class": "panel", role: "dialog", "aria-labelledby": "kyr-title", hidden: "" });
  var header = el("div", { "class": "header" });
  var title = el("h2", { id: "kyr-title" });
  var exit = el("button", { type: "button", "class": "exit" });
  var close = el("button", { type: "button", "class": "close" }, "\u00d7");
  var tools = el("div", { "class": "tools" });
  var langLabel = el("label", { "for": "kyr-lang" });
  var langMenu = el("select", { id: "kyr-lang" });
  var intro = el("p", { "class": "intro", dir: "auto" });
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-labelledby": "kyr-title", tabindex: "0" });
  var status = el("p", { "class": "status", role: "status" });
  var form = el("form", { "class": "composer" });
  var inputLabel = el("label", { "for": "kyr-input", "class": "visually-hidden" });
  var input = el("input", { id: "kyr-input", type: "text", maxlength: "2000", autocomplete: "off", dir: "auto" });
  var send = el("button", { type: "submit", "class": "send" });

  LANGUAGES.forEach(function (l) {
    var option = el("option", { value: l.code, lang: l.code, dir: l.dir }, l.name);
    langMenu.appendChild(option);
  });
  header.append(title, exit, close);
  tools.append(langLabel, langMenu);
  form.append(inputLabel, input, send);
  log.appendChild(intro);
  panel.append(header, tools, log, status, form);
  frame.append(launcher, panel);
  root.appendChild(frame);
  document.body.appendChild(host);

  function applyLanguage() {
    frame.setAttribute("lang", lang);
    frame.setAttribute("dir", direction(lang));
    launcher.textContent = data.title || t("title");
    launcher.setAttribute("title", t("open"));
    title.textContent = data.title || t("title");
    exit.textContent = t("quick_exit");
    exit.setAttribute("title", t("quick_exit_hint"));
    close.setAttribute("aria-label", t("close"));
    close.setAttribute("title", t("close"));
    langLabel.textContent = t("language");
    langMenu.value = lang;
    intro.textContent = t("intro");
    inputLabel.textContent = t("input_label");
    input.setAttribute("placeholder", t("placeholder"));
    send.textContent = t("send");
  }

  function setLanguage(code) {
    lang = code;
    session.lang = code;
    saveSession();
    applyLanguage();
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
  }
  function shut() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function addLine(who, text) {
    var item = el("div", { "class": "msg " + who });
    item.appendChild(el("span", { "class": "visually-hidden" }, t(who === "user" ? "you_said" : "bot_said") + ": "));
    item.appendChild(el("span", { "class": "text", dir: "auto" }, text));
    log.appendChild(item);
    // Show the start of the new message: answers are long, and they begin with the point.
    log.scrollTop = item.offsetTop - 8;
    return item;
  }

  function addSources(item, sources) {
    var details = el("details", { "class": "sources" });
    var list = el("ul");
    sources.forEach(function (source) {
      var li = el("li", { dir: "auto" });
      var href = safeUrl(source.url, SAFE_LINK);
      if (href) {
        li.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, source.title || href));
      } else {
        // A link we do not trust (javascript:, data:, ...) is shown, not followed.
        li.textContent = source.title + (source.url ? " (" + source.url + ")" : "");
      }
      list.appendChild(li);
    });
    details.append(el("summary", {}, t("sources") + " (" + sources.length + ")"), list);
    item.appendChild(details);
  }

  function addMenu(choices, suggested) {
    var old = log.querySelector(".quick");
    if (old) old.remove();
    var group = el("div", { "class": "quick", role: "group", "aria-label": t("topics") });
    // The topic an unsure reply asks about ("Did you mean ...?") comes first, marked.
    var ordered = choices.filter(function (c) { return c.topic === suggested; })
      .concat(choices.filter(function (c) { return c.topic !== suggested; }));
    ordered.forEach(function (choice) {
      var attributes = { type: "button", dir: "auto" };
      if (choice.topic === suggested) attributes["class"] = "suggested";
      var button = el("button", attributes, choice.title);
      button.addEventListener("click", function () {
        ask("/" + choice.topic, choice.title);
      });
      group.appendChild(button);
    });
    log.appendChild(group);
  }

  function showReply(reply) {
    // The bot answers in the language it detected; the interface follows it.
    if (known(reply.language) && reply.language !== lang) setLanguage(reply.language);
    var item = addLine("bot", reply.text || "");
    if (reply.sources && reply.sources.length) addSources(item, reply.sources);
    if (reply.menu && reply.menu.length) addMenu(reply.menu, reply.suggested_topic);
    log.scrollTop = item.offsetTop - 8;
  }

  function post(path, body, keepalive) {
    return fetch(base + "/webhooks/widget/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      mode: "cors",
      keepalive: !!keepalive,
    });
  }

  function ask(message, shown, metadata) {
    if (busy) return;
    busy = true;
    send.disabled = true;
    if (shown) addLine("user", shown);
    status.textContent = t("waiting");
    var meta = { jurisdiction: jurisdiction, language: lang };
    for (var key in metadata || {}) meta[key] = metadata[key];
    post("webhook", { sender: conversationId(), message: message, metadata: meta })
      .then(function (response) {
        if (response.status === 429) throw new Error("rate_limited");
        if (!response.ok) throw new Error("error");
        return response.json();
      })
      .then(function (result) {
        (result.messages || []).forEach(showReply);
        if (result.erased) {
          // The server forgot the conversation; the next message starts a new one.
          session.id = null;
          saveSession();
        }
      })
      .catch(function (error) {
        addLine("bot", t(error.message === "rate_limited" ? "rate_limited" : "error")).classList.add("problem");
      })
      .then(function () {
        busy = false;
        send.disabled = false;
        status.textContent = "";
      });
  }

  function quickExit() {
    var id = session.id;
    try {
      sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* nothing stored */ }
    host.remove();
    var erased = id ? post("erase", { sender: id }, true).catch(function () {}) : Promise.resolve();
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 1500); });
    Promise.race([erased, timeout]).then(function () {
      location.replace(exitUrl);
    });
  }

  launcher.addEventListener("click", function () {
    panel.hidden ? open() : shut();
  });
  close.addEventListener("click", shut);
  exit.addEventListener("click", quickExit);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      shut();
    }
  });
  langMenu.addEventListener("change", function () {
    setLanguage(langMenu.value);
    ask("/set_language", null, { chosen_language: lang });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text, text);
  });

  applyLanguage();
})();

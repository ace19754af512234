// The smtprig inbox: one page over the JSON API and its event stream.
// Data is only ever put in the page with textContent (never innerHTML), and a mail's HTML only
// in a sandboxed iframe without allow-scripts, so nothing from a mail can run here.

const state = {
  base: "/api/v1",
  view: "messages",
  messages: [],
  detail: null,
  tab: "html",
  events: null,
  pending: new Set(),
};

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (/^(aria-|data-|role$|tabindex$|sandbox$|title$|href$|download$|scope$)/.test(key)) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(state.base + path, { ...options, headers });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw problem;
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function later(job) {
  // Many events in a burst (a client sending 50 mails) cost one refresh.
  if (state.pending.has(job)) return;
  state.pending.add(job);
  setTimeout(() => { state.pending.delete(job); job(); }, 100);
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
const size = (octets) => (octets < 1024 ? `${octets} B` : `${(octets / 1024).toFixed(1)} kB`);

// ---------------------------------------------------------------- messages

function matchesSearch(summary) {
  const wanted = $("#search").value.trim().toLowerCase();
  if (!wanted) return true;
  const text = `${summary.mail_from} ${summary.recipients.join(" ")} ${summary.subject}`.toLowerCase();
  return text.includes(wanted);
}

async function loadMessages() {
  const wanted = $("#search").value.trim();
  const page = await api(`/messages${wanted ? `?q=${encodeURIComponent(wanted)}` : ""}`);
  state.messages = page.items;
  $("#messages tbody").replaceChildren(...state.messages.map(messageRow));
  markSelected();
}

function messageRow(summary) {
  const row = el("tr", { tabindex: "0", "data-id": summary.id, "aria-selected": "false" },
    el("td", {}, summary.id),
    el("td", {}, summary.mail_from),
    el("td", {}, summary.recipients.join(", ")),
    el("td", {}, summary.subject || "(no subject)"),
    el("td", {}, size(summary.size)),
    el("td", {}, time(summary.received_at)),
    el("td", {}, `#${summary.session} ${summary.tls_version || "no TLS"} ${summary.auth_mechanism || ""}`),
  );
  row.addEventListener("click", () => openMessage(summary.id));
  return row;
}

function addMessage(summary) {
  if (state.messages.some((item) => item.id === summary.id) || !matchesSearch(summary)) return;
  state.messages.push(summary);
  $("#messages tbody").append(messageRow(summary));
}

function markSelected() {
  const id = state.detail && state.detail.id;
  for (const row of document.querySelectorAll("#messages tbody tr")) {
    row.setAttribute("aria-selected", String(Number(row.dataset.id) === id));
  }
}

async function openMessage(id) {
  try {
    state.detail = await api(`/messages/${id}`);
  } catch (problem) {
    state.detail = null;
    $("#message").hidden = true;
    return;
  }
  const detail = state.detail;
  if (location.hash !== `#/messages/${id}`) history.replaceState(null, "", `#/messages/${id}`);
  $("#message-subject").textContent = detail.subject || "(no subject)";
  const facts = detail.session_facts;
  const pairs = [
    ["From", detail.mail_from],
    ["To", detail.recipients.join(", ")],
    ["Received", `${time(detail.received_at)} on ${detail.listener}`],
    ["Session", `#${facts.session} ${facts.session_id}`],
    ["TLS", facts.tls_version ? `${facts.tls_version} ${facts.tls_cipher}` : "none"],
    ["Login", facts.user ? `${facts.user} (${facts.auth_mechanism})` : "none"],
  ];
  $("#message-facts").replaceChildren(...pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  $("#message").hidden = false;
  markSelected();
  showTab(detail.html === null && state.tab === "html" ? "text" : state.tab);
}

async function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("#tabs [role=tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    button.tabIndex = button.dataset.tab === tab ? 0 : -1;
  }
  const panel = $("#panel");
  panel.setAttribute("aria-labelledby", `tab-${tab}`);
  const detail = state.detail;
  const link = `/messages/${detail.id}`;
  if (tab === "html") {
    if (detail.html === null) return panel.replaceChildren(el("p", {}, "This message has no HTML body."));
    // sandbox before src: the frame must never load without it.
    const frame = el("iframe", { sandbox: "allow-popups allow-popups-to-escape-sandbox", title: "HTML body of the message" });
    frame.src = state.base + link + "/html";
    panel.replaceChildren(frame);
  } else if (tab === "text") {
    panel.replaceChildren(el("pre", {}, detail.text ?? "This message has no text body."));
  } else if (tab === "headers") {
    panel.replaceChildren(el("table", { class: "headers", "aria-label": "Headers" },
      el("tbody", {}, ...detail.headers.map((header) => el("tr", {}, el("th", { scope: "row" }, header.name), el("td", {}, header.value))))));
  } else if (tab === "source") {
    // CRLF is the norm and shows as a line break; a bare LF is marked, since it is a bug.
    const lines = (await api(link + "/raw")).split("\n");
    const shown = lines.map((line, index) => (line.endsWith("\r") ? line.slice(0, -1) : index < lines.length - 1 ? `${line}␊ (bare LF)` : line));
    panel.replaceChildren(el("pre", { class: "source", "aria-label": "Message source" }, shown.join("\n")));
  } else if (tab === "attachments") {
    const items = detail.attachments.map((part) => el("li", {}, el("a", { href: part.url, download: part.filename || "" }, part.filename || `part ${part.part}`), ` ${part.content_type}, ${size(part.size)}`));
    panel.replaceChildren(items.length ? el("ul", {}, ...items) : el("p", {}, "No attachments."));
  } else if (tab === "conversation") {
    panel.replaceChildren(transcript(await api(link + "/transcript")));
  }
}

// ---------------------------------------------------------------- conversations

function transcript(data) {
  // Message data (between 354 and the final dot) is folded away: the conversation is the point.
  const list = el("ol", { class: "transcript", "aria-label": "SMTP conversation" });
  let body = null;
  for (const entry of data.entries) {
    if (entry.type === "event") {
      list.append(el("li", { class: `event ${entry.kind}` }, `— ${entry.kind} ${entry.detail} —`));
      continue;
    }
    if (entry.type !== "line") continue;
    const text = `${entry.direction}${entry.exact ? ":" : "~"} ${entry.text}`;
    if (body !== null && entry.direction === "C" && entry.text !== ".") {
      body.lines.push(text);
      continue;
    }
    if (body !== null) {
      const folded = el("details", {}, el("summary", {}, `${body.lines.length} lines of message data`), el("pre", {}, body.lines.join("\n")));
      list.append(el("li", { class: "data" }, folded));
      body = null;
    }
    list.append(el("li", { class: entry.direction === "C" ? "client" : "server" }, text));
    if (entry.direction === "S" && entry.text.startsWith("354")) body = { lines: [] };
  }
  return list;
}

// ---------------------------------------------------------------- sessions

async function loadSessions() {
  const page = await api("/sessions");
  $("#sessions tbody").replaceChildren(...page.items.map(sessionRow));
}

function sessionRow(session) {
  const detail = session.end_detail ? `: ${session.end_detail}` : "";
  const ended = session.state === "open" ? "open" : `${session.end}${detail}${session.failed ? " (failed)" : ""}`;
  const row = el("tr", { tabindex: "0", "data-id": session.id, class: session.failed ? "failed" : "" },
    el("td", {}, session.id),
    el("td", {}, time(session.started_at)),
    el("td", {}, session.listener),
    el("td", {}, `${session.peer.host}:${session.peer.port} ${session.helo_name || ""}`),
    el("td", {}, session.tls_version || "none"),
    el("td", {}, session.user ? `${session.user} (${session.auth_mechanism})` : "none"),
    el("td", {}, session.commands.join(" ")),
    el("td", {}, session.reply_codes.join(" ")),
    el("td", {}, ended),
  );
  row.addEventListener("click", () => openSession(session.id));
  return row;
}

async function openSession(id) {
  const section = $("#session-conversation");
  section.replaceChildren(el("h3", {}, `Session #${id}`), transcript(await api(`/sessions/${id}/transcript`)));
  section.hidden = false;
}

// ---------------------------------------------------------------- script

async function loadScript() {
  const script = await api("/script");
  $("#rules tbody").replaceChildren(...script.rules.map((rule) => {
    const remove = el("button", { type: "button", "aria-label": `Remove rule ${rule.id}` }, "Remove");
    remove.addEventListener("click", async () => { await api(`/script/rules/${rule.id}`, { method: "DELETE" }); loadScript(); });
    return el("tr", { "data-id": rule.id },
      el("td", {}, rule.id),
      el("td", {}, el("code", {}, rule.rule ? JSON.stringify(rule.rule) : rule.description)),
      el("td", {}, rule.seen), el("td", {}, rule.used), el("td", {}, rule.unmet ? "yes" : "no"),
      el("td", {}, remove));
  }));
}

async function addRule(event) {
  event.preventDefault();
  const error = $("#rule-error");
  error.textContent = "";
  let rule;
  try {
    rule = JSON.parse($("#rule-json").value);
  } catch (problem) {
    error.textContent = `Not JSON: ${problem.message}`;
    return;
  }
  try {
    await api("/script/rules", { method: "POST", body: JSON.stringify(rule) });
  } catch (problem) {
    error.textContent = problem.pointer ? `${problem.detail} (at ${problem.pointer})` : problem.detail;
  }
  loadScript();
}

// ---------------------------------------------------------------- views, events, keys

function showView(view) {
  state.view = view;
  for (const name of ["messages", "sessions", "script"]) {
    $(`#view-${name}`).hidden = name !== view;
    const link = $(`#nav-${name}`);
    if (name === view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (view === "sessions") loadSessions();
  if (view === "script") loadScript();
}

function route() {
  const [, view = "messages", id] = location.hash.split("/");
  showView(["messages", "sessions", "script"].includes(view) ? view : "messages");
  if (view === "messages" && id) openMessage(Number(id));
}

function connect() {
  if (state.events) state.events.close();
  const live = $("#live");
  const events = new EventSource(`${state.base}/events`);
  state.events = events;
  events.onopen = () => { live.textContent = "live"; loadMessages(); };
  events.onerror = () => { live.textContent = "reconnecting…"; };
  events.addEventListener("message", (event) => addMessage(JSON.parse(event.data)));
  for (const type of ["session.open", "session.close"]) {
    events.addEventListener(type, () => { if (state.view === "sessions") later(loadSessions); });
  }
  for (const type of ["fault", "session.close", "script.changed"]) {
    events.addEventListener(type, () => { if (state.view === "script") later(loadScript); });
  }
  for (const type of ["reset", "gap"]) events.addEventListener(type, () => { later(loadMessages); route(); });
}

async function loadSandboxes() {
  const select = $("#sandbox");
  const answer = await fetch("/api/v1/sandboxes", { headers: { Accept: "application/json" } }).then((r) => r.json());
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "default"), ...answer.items.map((box) => el("option", { value: box.id }, box.id)));
  select.value = answer.items.some((box) => box.id === chosen) ? chosen : "";
}

function moveSelection(step) {
  const table = state.view === "sessions" ? "#sessions" : "#messages";
  const rows = [...document.querySelectorAll(`${table} tbody tr`)];
  if (!rows.length) return;
  const current = rows.indexOf(document.activeElement);
  const next = rows[Math.min(rows.length - 1, Math.max(0, current + step))];
  next.focus();
  next.click();
}

function onKey(event) {
  if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") { event.preventDefault(); showView("messages"); $("#search").focus(); }
  else if (event.key === "j") moveSelection(1);
  else if (event.key === "k") moveSelection(-1);
  else if (event.key === "Enter" && event.target.matches("tr[data-id]")) event.target.click();
  else if (event.key === "Escape") { $("#message").hidden = true; state.detail = null; markSelected(); }
}

function onTabKey(event) {
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
  const tabs = [...document.querySelectorAll("#tabs [role=tab]")];
  const index = tabs.indexOf(event.target);
  const next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
  next.focus();
  showTab(next.dataset.tab);
}

function start() {
  $("#search").addEventListener("input", () => later(loadMessages));
  $("#search-form").addEventListener("submit", (event) => event.preventDefault());
  $("#clear-messages").addEventListener("click", async () => { await api("/messages", { method: "DELETE" }); loadMessages(); });
  for (const button of document.querySelectorAll("#tabs [role=tab]")) button.addEventListener("click", () => showTab(button.dataset.tab));
  $("#tabs").addEventListener("keydown", onTabKey);
  $("#rule-form").addEventListener("submit", addRule);
  $("#reset").addEventListener("click", () => api("/reset", { method: "POST" }));
  $("#sandbox").addEventListener("focus", loadSandboxes);
  $("#sandbox").addEventListener("change", (event) => {
    state.base = event.target.value ? `/api/v1/sandboxes/${event.target.value}` : "/api/v1";
    state.detail = null;
    $("#message").hidden = true;
    connect();
    route();
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  connect();
  route();
}

start();

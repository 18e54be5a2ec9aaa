// The door scanner: camera (BarcodeDetector or jsQR), a handheld scanner's keyboard input,
// search by name, full-screen results, undo, live counts, and scanning without a network
// (Ed25519 signature + the event's ticket list kept in localStorage, scans queued with their
// nonce and sent when the network returns). Texts come translated from the page's JSON config.
(() => {
  "use strict";

  // --- a door phone keeps no one's name longer than it needs to -----------------------------
  // Each event's offline bundle (names and states), the names let in on this device and the
  // conflicts are dropped a day after the event ended (the bundle carries its end time), and the
  // event's cached scanner page with them. Queued scans (codes only) stay until they are sent.
  const KEEP_AFTER_END_MS = 24 * 3600 * 1000;
  const BUNDLE_PREFIX = "felag-door-bundle-";

  function dropOldBundles(now) {
    const dropped = [];
    let keys = [];
    try {
      keys = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i));
    } catch (err) {
      return dropped; /* storage blocked: nothing is kept either */
    }
    for (const key of keys) {
      if (!key || !key.startsWith(BUNDLE_PREFIX)) continue;
      const id = key.slice(BUNDLE_PREFIX.length);
      let data = null;
      try {
        data = JSON.parse(localStorage.getItem(key));
      } catch (err) {
        data = null;
      }
      // A bundle from before end times were sent: judged by when it was fetched.
      const endsAt = Date.parse((data && (data.ends_at || data.fetched_at)) || "");
      if (data && !Number.isNaN(endsAt) && now - endsAt <= KEEP_AFTER_END_MS) continue;
      for (const name of [key, `felag-door-seen-${id}`, `felag-door-conflicts-${id}`]) {
        localStorage.removeItem(name);
      }
      dropped.push(id);
    }
    if (dropped.length && "serviceWorker" in navigator) {
      navigator.serviceWorker.ready
        .then((registration) => {
          const urls = dropped.map((id) => new URL(`/door/${id}`, location.origin).href);
          if (registration.active) registration.active.postMessage({ type: "forget", urls });
        })
        .catch(() => undefined);
    }
    return dropped;
  }

  dropOldBundles(Date.now());

  const root = document.getElementById("door");
  if (!root) return;
  const config = JSON.parse(document.getElementById("door-config").textContent);
  const T = config.texts;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const eventId = config.eventId;
  const KEYS = {
    bundle: `felag-door-bundle-${eventId}`,
    seen: `felag-door-seen-${eventId}`,
    queue: `felag-door-queue-${eventId}`,
    conflicts: `felag-door-conflicts-${eventId}`,
    device: "felag-door-device",
    hold: "felag-door-hold",
  };
  const CODE_RE = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{86})$/;
  // The 8-character short code printed under the QR: no 0/O, no 1/I/L (app/events/tickets.py).
  const SHORT_RE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;

  const $ = (id) => document.getElementById(id);
  const el = {
    code: $("door-code"),
    scanForm: $("door-scan-form"),
    keyboard: $("door-keyboard"),
    network: $("door-network"),
    pending: $("door-pending"),
    notice: $("door-notice"),
    checkedIn: $("door-checked-in"),
    confirmed: $("door-confirmed"),
    undo: $("door-undo"),
    cameraToggle: $("door-camera-toggle"),
    camera: $("door-camera"),
    video: $("door-video"),
    cameraMessage: $("door-camera-message"),
    searchForm: $("door-search-form"),
    search: $("door-search"),
    searchResults: $("door-search-results"),
    conflictsSection: $("door-conflicts-section"),
    conflicts: $("door-conflicts"),
    clearConflicts: $("door-conflicts-clear"),
    hold: $("door-hold"),
    result: $("door-result"),
  };
  const resultParts = {
    icon: el.result.querySelector(".door-result-icon"),
    title: el.result.querySelector(".door-result-title"),
    detail: el.result.querySelector(".door-result-detail"),
  };

  // --- small helpers ------------------------------------------------------------------------

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, (match, key) =>
      key in values && values[key] !== null && values[key] !== undefined ? String(values[key]) : match
    );
  }

  const timeFormat = new Intl.DateTimeFormat(config.locale, {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: config.timezone,
  });
  const showTime = (iso) => (iso ? timeFormat.format(new Date(iso)) : "?");
  const plural = new Intl.PluralRules(config.locale);

  function load(key, fallback) {
    try {
      const value = localStorage.getItem(key);
      return value ? JSON.parse(value) : fallback;
    } catch (err) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (err) {
      /* storage full or blocked: the page still works online */
    }
  }

  function randomId(length) {
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
  }

  const newNonce = () => (crypto.randomUUID ? crypto.randomUUID() : randomId(32));

  const device = (() => {
    let id = load(KEYS.device, null);
    if (!id) {
      id = "d-" + randomId(10);
      save(KEYS.device, id);
    }
    return id;
  })();

  function b64decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  function parseCode(text) {
    let value = (text || "").trim();
    if (value.includes("/")) {
      value = value.replace(/\/+$/, "");
      value = value.slice(value.lastIndexOf("/") + 1);
    }
    const match = CODE_RE.exec(value);
    if (!match) return null;
    return { eventId: Number(match[1]), ticketId: match[2], signature: match[3] };
  }

  // A typed short code, as the ticket of this event it names in the stored list (or null).
  function parseShortCode(text) {
    const value = (text || "").replace(/[\s-]/g, "").toUpperCase();
    if (!SHORT_RE.test(value)) return null;
    const data = bundle();
    const ticketId = data && data.shorts ? data.shorts[value] : undefined;
    return { eventId, ticketId: ticketId || null, short: value };
  }

  // --- the offline bundle: public key and tickets (id, name, state) --------------------------

  function bundle() {
    return load(KEYS.bundle, null);
  }

  function setTicketState(ticketId, state, name) {
    const current = bundle();
    if (!current || !ticketId) return;
    const ticket = current.tickets[ticketId] || { name: name || "" };
    ticket.state = state;
    current.tickets[ticketId] = ticket;
    save(KEYS.bundle, current);
  }

  async function refreshBundle() {
    try {
      const response = await fetch(config.urls.bundle, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      const tickets = {};
      const shorts = {};
      for (const t of data.tickets) {
        tickets[t.ticket] = { name: t.name, state: t.state };
        if (t.short) shorts[t.short] = t.ticket;
      }
      // Tickets let in on this device but not yet synced stay checked in.
      for (const ticketId of Object.keys(load(KEYS.seen, {}))) {
        if (tickets[ticketId] && tickets[ticketId].state === "confirmed") {
          tickets[ticketId].state = "checked_in";
        }
      }
      save(KEYS.bundle, {
        event_id: data.event_id,
        public_key: data.public_key,
        fetched_at: data.generated_at,
        ends_at: data.ends_at,
        tickets,
        shorts,
      });
      setOnline(true);
    } catch (err) {
      setOnline(false);
    }
  }

  const keyCache = new Map();

  // true / false when the signature could be checked; null when this browser cannot check it.
  async function signatureValid(parsed, publicKey) {
    if (!publicKey || !window.crypto || !crypto.subtle) return null;
    try {
      let key = keyCache.get(publicKey);
      if (!key) {
        key = await crypto.subtle.importKey("raw", b64decode(publicKey), { name: "Ed25519" }, false, [
          "verify",
        ]);
        keyCache.set(publicKey, key);
      }
      const message = new TextEncoder().encode(`felag-ticket:${parsed.eventId}:${parsed.ticketId}`);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, b64decode(parsed.signature), message);
    } catch (err) {
      return null;
    }
  }

  // --- network state, queue and sync --------------------------------------------------------

  let online = navigator.onLine;
  let sessionEnded = false;

  function setOnline(value) {
    online = value;
    el.network.textContent = value ? T.online : T.offline;
    el.network.className = "badge " + (value ? "text-bg-success" : "text-bg-danger");
    el.network.dataset.state = value ? "online" : "offline";
    if (value) sync();
  }

  function queue() {
    return load(KEYS.queue, []);
  }

  function renderPending() {
    const n = queue().length;
    el.pending.dataset.count = String(n);
    if (n === 0) {
      el.pending.textContent = "";
      return;
    }
    const template = plural.select(n) === "one" ? T.pending_one : T.pending_other;
    el.pending.textContent = fmt(template, { count: n });
  }

  function enqueue(item) {
    const items = queue();
    items.push(item);
    save(KEYS.queue, items);
    renderPending();
  }

  function removeQueued(nonce) {
    save(
      KEYS.queue,
      queue().filter((item) => item.nonce !== nonce)
    );
    renderPending();
  }

  function notice(text) {
    el.notice.textContent = text || "";
    el.notice.classList.toggle("d-none", !text);
  }

  async function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  }

  // What a failed response means; null when the request should be tried again later.
  async function failure(response) {
    if (response.status === 401) {
      sessionEnded = true;
      notice(T.session_ended);
      return null;
    }
    if (response.status === 429 || response.status >= 500) {
      notice(response.status === 429 ? T.rate_limited : T.server_error);
      return null;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      /* not JSON */
    }
    if (body && body.error && body.error.code === "csrf") {
      notice(T.page_expired);
      return null;
    }
    return body && body.error ? body.error.message : T.server_error;
  }

  function addConflict(text) {
    const items = load(KEYS.conflicts, []);
    items.unshift({ text, at: new Date().toISOString() });
    save(KEYS.conflicts, items.slice(0, 50));
    renderConflicts();
  }

  function renderConflicts() {
    const items = load(KEYS.conflicts, []);
    el.conflicts.replaceChildren(
      ...items.map((item) => {
        const li = document.createElement("li");
        li.className = "list-group-item list-group-item-warning";
        li.textContent = `${showTime(item.at)} · ${item.text}`;
        return li;
      })
    );
    el.conflictsSection.classList.toggle("d-none", items.length === 0);
  }

  function reasonText(status) {
    return T[status] || T.unknown;
  }

  let syncing = false;

  async function sync() {
    if (syncing || !queue().length) return;
    syncing = true;
    try {
      for (;;) {
        const item = queue()[0];
        if (!item) break;
        let response;
        try {
          response = await postJSON(config.urls.scan, {
            code: item.code,
            nonce: item.nonce,
            device,
            offline: true,
            accepted: item.accepted,
            scanned_at: item.scanned_at,
          });
        } catch (err) {
          online = false;
          setOnlineBadgeOnly(false);
          break;
        }
        if (!response.ok) {
          const message = await failure(response);
          if (message === null) break; // try again later
          if (item.accepted) addConflict(fmt(T.conflict_rejected, { reason: message }));
          removeQueued(item.nonce);
          continue;
        }
        setOnlineBadgeOnly(true);
        notice("");
        const data = await response.json();
        if (data.counts) showCounts(data.counts);
        const parsed = parseCode(item.code);
        if (parsed && data.status === "ok") setTicketState(parsed.ticketId, "checked_in");
        if (item.accepted && data.status !== "ok") {
          if (data.status === "already_checked_in") {
            addConflict(
              fmt(T.conflict, {
                name: (data.registration && data.registration.name) || "?",
                time: showTime(data.checked_in_at),
                by: data.checked_in_by || "?",
              })
            );
          } else {
            addConflict(fmt(T.conflict_rejected, { reason: reasonText(data.status) }));
          }
        }
        removeQueued(item.nonce);
        if (lastCheckIn && lastCheckIn.nonce === item.nonce) {
          // Synced: from now on it is undone like any online check-in, or not at all.
          if (data.status === "ok") {
            rememberCheckIn({
              registrationId: data.registration.id,
              name: data.registration.name,
              ticketId: lastCheckIn.ticketId,
            });
          } else {
            forgetLastCheckIn();
          }
        }
      }
    } finally {
      syncing = false;
      renderPending();
    }
  }

  function setOnlineBadgeOnly(value) {
    online = value;
    el.network.textContent = value ? T.online : T.offline;
    el.network.className = "badge " + (value ? "text-bg-success" : "text-bg-danger");
    el.network.dataset.state = value ? "online" : "offline";
  }

  // --- results ------------------------------------------------------------------------------

  let hideTimer = null;

  // While a result covers the screen, nothing under it is reachable by Tab or a screen reader,
  // except the code field: a handheld scanner keeps typing the next code into it.
  function coveredParts() {
    return document.querySelectorAll(
      "body > a, body > nav, body > footer, #door > :not(#door-scan-form), #door-scan-form button",
    );
  }

  function resultShown() {
    return !el.result.classList.contains("d-none");
  }

  function showResult(kind, status, title, detail) {
    coveredParts().forEach((part) => { part.inert = true; });
    el.result.className = `door-result door-result-${kind}`;
    el.result.dataset.status = status;
    resultParts.icon.textContent = kind === "ok" ? "✓" : kind === "warn" ? "!" : "✕";
    resultParts.title.textContent = title;
    resultParts.detail.textContent = detail || "";
    clearTimeout(hideTimer);
    if (!el.hold.checked) hideTimer = setTimeout(hideResult, kind === "ok" ? 2500 : 4000);
    if (navigator.vibrate && kind !== "ok") navigator.vibrate([120, 80, 120]);
    el.code.value = "";
    el.code.focus({ preventScroll: true });
  }

  function hideResult() {
    clearTimeout(hideTimer);
    el.result.classList.add("d-none");
    coveredParts().forEach((part) => { part.inert = false; });
    el.code.focus({ preventScroll: true });
  }

  function showAnswer(data) {
    const name = data.registration ? data.registration.name : "";
    switch (data.status) {
      case "ok":
        return showResult("ok", "ok", fmt(T.ok, { name }));
      case "already_checked_in": {
        const time = showTime(data.checked_in_at);
        const text = data.checked_in_by
          ? fmt(T.already_checked_in, { time, name: data.checked_in_by })
          : fmt(T.already_checked_in_no_by, { time });
        return showResult("warn", "already_checked_in", text, name);
      }
      case "wrong_event":
        // A genuine ticket of another event: say which, so the person can be sent there.
        return showResult(
          "error",
          "wrong_event",
          T.wrong_event,
          data.event ? fmt(T.wrong_event_named, { event: data.event.title }) : ""
        );
      default:
        return showResult("error", data.status, reasonText(data.status), name);
    }
  }

  function showCounts(counts) {
    el.checkedIn.textContent = String(counts.checked_in);
    el.confirmed.textContent = String(counts.confirmed);
  }

  async function refreshCounts() {
    try {
      const response = await fetch(config.urls.counts, { headers: { Accept: "application/json" } });
      if (response.status === 401) {
        sessionEnded = true;
        notice(T.session_ended);
        return;
      }
      if (!response.ok) return;
      showCounts(await response.json());
      if (!online) setOnline(true);
      else sync();
    } catch (err) {
      setOnlineBadgeOnly(false);
    }
  }

  // --- undo ---------------------------------------------------------------------------------

  let lastCheckIn = null; // {registrationId, name, ticketId} or {nonce, name, ticketId}

  function rememberCheckIn(entry) {
    lastCheckIn = entry;
    el.undo.textContent = fmt(T.undo, { name: entry.name || "?" });
    el.undo.classList.remove("d-none");
  }

  function forgetLastCheckIn() {
    lastCheckIn = null;
    el.undo.classList.add("d-none");
  }

  function forgetSeen(ticketId) {
    if (!ticketId) return;
    const seen = load(KEYS.seen, {});
    delete seen[ticketId];
    save(KEYS.seen, seen);
  }

  async function undoLast() {
    const entry = lastCheckIn;
    if (!entry) return;
    if (entry.nonce) {
      // Let in offline and not yet sent: taking it off the queue is the whole undo.
      if (queue().some((item) => item.nonce === entry.nonce)) {
        removeQueued(entry.nonce);
        forgetSeen(entry.ticketId);
        setTicketState(entry.ticketId, "confirmed");
        forgetLastCheckIn();
        return showResult("warn", "undone", fmt(T.undone, { name: entry.name || "?" }));
      }
      return; // already synced: its registration id is unknown here
    }
    let response;
    try {
      response = await postJSON(config.urls.undo, { registration_id: entry.registrationId, device });
    } catch (err) {
      setOnlineBadgeOnly(false);
      return showResult("error", "offline", T.offline);
    }
    if (!response.ok) {
      const message = await failure(response);
      return showResult("error", "error", message || T.server_error);
    }
    const data = await response.json();
    if (data.counts) showCounts(data.counts);
    forgetSeen(entry.ticketId);
    if (entry.ticketId) setTicketState(entry.ticketId, "confirmed");
    forgetLastCheckIn();
    const text = data.status === "undone" ? T.undone : T.not_checked_in;
    showResult("warn", data.status, fmt(text, { name: data.registration.name }));
  }

  // --- scanning -----------------------------------------------------------------------------

  function markSeen(ticketId, name, at) {
    if (!ticketId) return;
    const seen = load(KEYS.seen, {});
    seen[ticketId] = { name, at };
    save(KEYS.seen, seen);
  }

  async function scanOffline(item, parsed) {
    if (!parsed) return showResult("error", "unknown", T.unknown);
    if (parsed.eventId !== eventId) {
      enqueue({ ...item, accepted: false });
      return showResult("error", "wrong_event", T.wrong_event);
    }
    const data = bundle();
    // A short code has no signature: it counts only when the stored list holds it.
    const valid = parsed.short
      ? Boolean(parsed.ticketId)
      : await signatureValid(parsed, data && data.public_key);
    const ticket = data && parsed.ticketId ? data.tickets[parsed.ticketId] : undefined;
    if (valid === false || (valid === null && !ticket)) {
      enqueue({ ...item, accepted: false });
      return showResult("error", "unknown", T.unknown);
    }
    const seen = load(KEYS.seen, {})[parsed.ticketId];
    if (seen) {
      enqueue({ ...item, accepted: false });
      return showResult("warn", "already_checked_in", fmt(T.already_here, { time: showTime(seen.at) }), seen.name);
    }
    if (ticket && ticket.state !== "confirmed") {
      enqueue({ ...item, accepted: false });
      if (ticket.state === "checked_in") {
        return showResult("warn", "already_checked_in", T.already_before, ticket.name);
      }
      const status = ticket.state === "cancelled" ? "cancelled" : "not_confirmed";
      return showResult("error", status, reasonText(status), ticket.name);
    }
    const name = ticket ? ticket.name : "";
    enqueue({ ...item, accepted: true });
    markSeen(parsed.ticketId, name, item.scanned_at);
    setTicketState(parsed.ticketId, "checked_in", name);
    rememberCheckIn({ nonce: item.nonce, name, ticketId: parsed.ticketId });
    if (ticket) return showResult("ok", "ok", fmt(T.ok, { name }), T.ok_offline);
    return showResult("warn", "not_in_list", T.not_in_list);
  }

  async function handleCode(text) {
    const code = (text || "").trim();
    if (!code) return;
    const parsed = parseCode(code) || parseShortCode(code);
    const item = { code, nonce: newNonce(), scanned_at: new Date().toISOString() };
    if (online && !sessionEnded) {
      let response = null;
      try {
        response = await postJSON(config.urls.scan, { code, nonce: item.nonce, device });
      } catch (err) {
        setOnlineBadgeOnly(false);
      }
      if (response) {
        if (response.ok) {
          const data = await response.json();
          notice("");
          if (data.counts) showCounts(data.counts);
          if (parsed && (data.status === "ok" || data.status === "already_checked_in")) {
            setTicketState(parsed.ticketId, "checked_in", data.registration && data.registration.name);
          }
          if (data.status === "ok") {
            if (parsed) markSeen(parsed.ticketId, data.registration.name, data.checked_in_at);
            rememberCheckIn({
              registrationId: data.registration.id,
              name: data.registration.name,
              ticketId: parsed && parsed.ticketId,
            });
          }
          return showAnswer(data);
        }
        const message = await failure(response);
        if (message !== null) return showResult("error", "error", message);
        // 401, 429, 5xx: decide here and send it later with the same nonce.
      }
    }
    return scanOffline(item, parsed);
  }

  el.scanForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = el.code.value;
    el.code.value = "";
    if (!value.trim() && resultShown()) return hideResult(); // Enter on its own closes the result
    handleCode(value);
  });

  // Escape closes the result screen (Enter too, through the form above).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && resultShown()) {
      event.preventDefault();
      hideResult();
    }
  });

  // Keep the code field focused so that a handheld scanner's "typing" always lands in it.
  el.code.addEventListener("blur", () => {
    setTimeout(() => {
      const active = document.activeElement;
      if (!active || active === document.body || active === el.result) {
        el.code.focus({ preventScroll: true });
      }
    }, 150);
  });

  // On touch screens the field takes a scanner's input without opening the on-screen keyboard.
  if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
    el.code.setAttribute("inputmode", "none");
    el.keyboard.classList.remove("d-none");
    el.keyboard.addEventListener("click", () => {
      el.code.setAttribute("inputmode", "text");
      el.code.focus();
    });
  }

  el.result.addEventListener("click", hideResult);
  el.clearConflicts.addEventListener("click", () => {
    save(KEYS.conflicts, []);
    renderConflicts();
  });
  el.undo.addEventListener("click", undoLast);
  el.hold.checked = load(KEYS.hold, false) === true;
  el.hold.addEventListener("change", () => save(KEYS.hold, el.hold.checked));

  // --- search by name or e-mail -------------------------------------------------------------

  let searchTimer = null;

  function stateText(row) {
    if (row.checked_in_at || row.state === "checked_in") {
      return fmt(T.state_checked_in, { time: showTime(row.checked_in_at) });
    }
    return T["state_" + row.state] || row.state;
  }

  function renderSearch(rows, canCheckIn) {
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "list-group-item text-muted";
      li.textContent = T.nobody_found;
      el.searchResults.replaceChildren(li);
      return;
    }
    el.searchResults.replaceChildren(
      ...rows.map((row) => {
        const li = document.createElement("li");
        li.className = "list-group-item d-flex justify-content-between align-items-center gap-2";
        const text = document.createElement("div");
        const name = document.createElement("div");
        name.className = "fw-semibold";
        name.textContent = row.name;
        const state = document.createElement("div");
        state.className = "small text-muted";
        state.textContent = stateText(row);
        text.append(name, state);
        li.append(text);
        if (canCheckIn && row.state === "confirmed" && !row.checked_in_at) {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "btn btn-success";
          button.textContent = T.check_in;
          button.addEventListener("click", () => checkInByHand(row));
          li.append(button);
        }
        return li;
      })
    );
  }

  async function runSearch() {
    const q = el.search.value.trim();
    if (q.length < 2) {
      el.searchResults.replaceChildren();
      return;
    }
    if (online) {
      try {
        const response = await fetch(`${config.urls.search}?q=${encodeURIComponent(q)}`, {
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const data = await response.json();
          if (el.search.value.trim() === q) renderSearch(data.results, true);
          return;
        }
      } catch (err) {
        setOnlineBadgeOnly(false);
      }
    }
    // Offline: names from the device's list (state only; checking in by hand needs the network).
    const data = bundle();
    const needle = q.toLocaleLowerCase();
    const rows = data
      ? Object.values(data.tickets)
          .filter((t) => t.name.toLocaleLowerCase().includes(needle))
          .slice(0, 20)
          .map((t) => ({ name: t.name, state: t.state, checked_in_at: null }))
      : [];
    renderSearch(rows, false);
  }

  async function checkInByHand(row) {
    let response;
    try {
      response = await postJSON(config.urls.checkIn, {
        registration_id: row.id,
        nonce: newNonce(),
        device,
      });
    } catch (err) {
      setOnlineBadgeOnly(false);
      return showResult("error", "offline", T.offline);
    }
    if (!response.ok) {
      const message = await failure(response);
      return showResult("error", "error", message || T.server_error);
    }
    const data = await response.json();
    if (data.counts) showCounts(data.counts);
    if (data.status === "ok") {
      rememberCheckIn({ registrationId: data.registration.id, name: data.registration.name });
    }
    el.search.value = "";
    el.searchResults.replaceChildren();
    showAnswer(data);
  }

  el.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  el.searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch();
  });

  // --- camera -------------------------------------------------------------------------------

  let stream = null;
  let detect = null;
  let lastCamera = { value: "", seenAt: 0 };

  function cameraMessage(text) {
    el.cameraMessage.textContent = text || "";
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (window.jsQR) return resolve();
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.append(script);
    });
  }

  async function makeDetector() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async () => {
            const found = await detector.detect(el.video);
            return found.length ? found[0].rawValue : null;
          };
        }
      } catch (err) {
        /* fall back to jsQR */
      }
    }
    await loadScript(config.urls.decoder);
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      const width = el.video.videoWidth;
      const height = el.video.videoHeight;
      if (!width || !height) return null;
      const scale = Math.min(1, 800 / Math.max(width, height));
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(el.video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(image.data, image.width, image.height, {
        inversionAttempts: "attemptBoth",
      });
      return found ? found.data : null;
    };
  }

  async function cameraLoop() {
    while (stream) {
      try {
        const value = detect ? await detect() : null;
        const now = Date.now();
        if (value) {
          // The same code held in front of the camera is scanned once.
          if (value !== lastCamera.value || now - lastCamera.seenAt > 2500) handleCode(value);
          lastCamera = { value, seenAt: now };
        }
      } catch (err) {
        /* a frame that could not be read */
      }
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraMessage(T.camera_unavailable);
      return;
    }
    cameraMessage(T.camera_loading);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
      el.video.srcObject = stream;
      await el.video.play();
      detect = await makeDetector();
    } catch (err) {
      stopCamera();
      cameraMessage(T.camera_unavailable);
      return;
    }
    el.camera.classList.remove("d-none");
    el.cameraToggle.textContent = T.camera_stop;
    el.cameraToggle.dataset.state = "on";
    cameraMessage("");
    cameraLoop();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    el.video.srcObject = null;
    el.camera.classList.add("d-none");
    el.cameraToggle.textContent = T.camera_start;
    el.cameraToggle.dataset.state = "off";
  }

  el.cameraToggle.addEventListener("click", () => (stream ? stopCamera() : startCamera()));

  // --- logging out --------------------------------------------------------------------------
  // The logout answer clears this device's storage (Clear-Site-Data), queued scans included:
  // while some are unsent, the volunteer is asked first.

  function unsentScans() {
    let count = 0;
    try {
      for (let i = 0; i < localStorage.length; i += 1) {
        const key = localStorage.key(i);
        if (key && key.startsWith("felag-door-queue-")) count += load(key, []).length;
      }
    } catch (err) {
      return 0;
    }
    return count;
  }

  document.querySelectorAll('form[action$="/auth/logout"]').forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (unsentScans() > 0 && !window.confirm(T.logout_pending)) event.preventDefault();
    });
  });

  // --- start --------------------------------------------------------------------------------

  window.addEventListener("online", () => {
    setOnline(true);
    refreshBundle();
    refreshCounts();
  });
  window.addEventListener("offline", () => setOnlineBadgeOnly(false));

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(config.urls.serviceWorker, { scope: config.urls.serviceWorker.replace(/[^/]*$/, "") })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        const urls = [
          location.pathname,
          config.urls.decoder,
          ...Array.from(document.querySelectorAll("script[src]"), (s) => s.src),
          ...Array.from(document.querySelectorAll('link[rel="stylesheet"]'), (l) => l.href),
        ];
        if (registration.active) registration.active.postMessage({ type: "precache", urls });
      })
      .catch(() => {
        /* no service worker: the page still works while it stays open */
      });
  }

  setOnlineBadgeOnly(online);
  renderPending();
  renderConflicts();
  el.code.focus({ preventScroll: true });
  if (online) {
    refreshBundle().then(sync);
  }
  setInterval(refreshCounts, 15000);
  setInterval(() => {
    if (online) refreshBundle();
  }, 60000);
  root.dataset.ready = "true";
})();

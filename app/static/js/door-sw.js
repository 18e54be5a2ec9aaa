// The door's service worker (served as /door/sw.js, scope /door/): keeps the scanner page and
// its scripts and styles in a cache, so that the page opens again without a network. Pages
// and files are fetched from the network first; the cache answers when the network does not.
// JSON endpoints (scans, counts, search, the offline bundle) are never cached here: the page
// keeps the bundle and the queue of scans itself.
"use strict";

const CACHE = "felag-door-v1";
const NETWORK_TIMEOUT_MS = 4000;

function isShell(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname;
  return (
    path === "/door/" ||
    /^\/door\/\d+$/.test(path) ||
    path.startsWith("/static/") ||
    path.startsWith("/bootstrap/")
  );
}

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

async function store(cache, request, response) {
  if (response && response.ok && !response.redirected && response.type === "basic") {
    await cache.put(request, response);
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "forget" && Array.isArray(data.urls)) {
    // The page dropped these events' offline data: their cached scanner pages go too.
    event.waitUntil(
      caches.open(CACHE).then((cache) => Promise.all(data.urls.map((u) => cache.delete(u))))
    );
    return;
  }
  if (data.type !== "precache" || !Array.isArray(data.urls)) return;
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(
        data.urls
          .map((u) => new URL(u, self.location.origin))
          .filter(isShell)
          .map((url) =>
            fetch(url, { credentials: "same-origin" })
              .then((response) => store(cache, url.href, response))
              .catch(() => undefined)
          )
      )
    )
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    await store(cache, request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!isShell(url)) return;
  event.respondWith(networkFirst(request));
});

// wacrm's service worker: makes the app installable and, when the network
// is gone, answers a page load with a short offline page instead of the
// browser's error. Nothing is cached: every page is the server's, fresh.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

var OFFLINE = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">" +
  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Offline · wacrm</title>" +
  "<body><h1>You are offline</h1><p>wacrm needs the network. It comes back when you reload.</p></body></html>";

self.addEventListener("fetch", function (event) {
  if (event.request.mode !== "navigate") return;
  event.respondWith(fetch(event.request).catch(function () {
    return new Response(OFFLINE, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }));
});

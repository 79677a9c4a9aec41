// The desk's requests to its own server (ES module): JSON in, JSON out, with the CSRF
// token of the page. Each caller reads the answer its own way (their error shapes differ).

export function sendJson(url, body, csrfToken) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json",
      "X-CSRFToken": csrfToken },
    body: JSON.stringify(body)
  });
}

/** POST for the answers shaped {ok: true, ...} / {error: "..."} (dial, transfer). */
export function postJson(url, body, desk) {
  return sendJson(url, body, desk.cfg.csrfToken).then((response) =>
    response.json().catch(() => null).then((reply) => {
      if (response.ok && reply && reply.ok) { return reply; }
      throw new Error(reply && reply.error ? reply.error
        : response.status === 400 ? desk.T.pageExpired
          : response.status + " " + response.statusText);
    }));
}

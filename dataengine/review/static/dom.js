// What the local pages share. Text from the corpus or the user is only ever written with
// textContent or as attribute values, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "cls") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// JSON from the server; an error reply becomes an Error carrying the server's message.
async function getJson(url, options) {
  const reply = await fetch(url, options);
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(body.error || `${url}: HTTP ${reply.status}`);
  return body;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "meta error" : "meta";
}

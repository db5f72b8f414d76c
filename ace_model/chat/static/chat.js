// The chat page (after dom.js: $, el, getJson, say): every text from the server or the user
// is written with textContent.
"use strict";

const state = { id: null, images: [], edited: null, refs: [], painted: false, busy: false };

const imageUrl = (n) => `/api/conversations/${state.id}/images/${n}.png`;
const placeholder = (i) => (i === 0 ? "{image}" : `{image${i}}`);

// -- images ---------------------------------------------------------------------------------

function addImage(n, origin) {
  state.images.push({ n, origin });
  edit(n);
}

function edit(n) {
  state.edited = n;
  state.refs = state.refs.filter((r) => r !== n);
  $("current").src = imageUrl(n);
  render();
}

function toggleRef(n) {
  if (n === state.edited) return;
  state.refs = state.refs.includes(n) ? state.refs.filter((r) => r !== n) : [...state.refs, n];
  render();
}

function render() {
  const inputs = state.edited == null ? [] : [state.edited, ...state.refs];
  $("images").replaceChildren(...state.images.map(({ n, origin }) => {
    const role = n === state.edited ? "edited" : state.refs.includes(n) ? "ref" : "";
    const at = inputs.indexOf(n);
    const img = el("img", { src: imageUrl(n), alt: `image #${n}` });
    img.addEventListener("click", () => edit(n));
    const ref = el("button", { type: "button", text: state.refs.includes(n) ? "− ref" : "+ ref" });
    ref.addEventListener("click", () => toggleRef(n));
    return el("div", { cls: `thumb ${role}`, "data-image": n }, img,
      el("div", { text: `#${n} ${origin}${at >= 0 ? " = " + placeholder(at) : ""}` }), ref);
  }));
  $("inputs").textContent = inputs.length
    ? `This turn shows the model: ${inputs.map((n, i) => `${placeholder(i)} = image #${n}`).join(", ")}.`
    : "No image yet: upload one or pick an example.";
  $("download").hidden = !$("turns").children.length;
}

async function upload(file) {
  const data = new FormData();
  data.append("file", file);
  const reply = await getJson(`/api/conversations/${state.id}/images`, { method: "POST", body: data });
  addImage(reply.image, `upload ${file.name}`);
}

async function pickExample(i, label) {
  const reply = await getJson(`/api/conversations/${state.id}/images`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ example: i }) });
  addImage(reply.image, `example ${label}`);
}

// -- the mask -------------------------------------------------------------------------------

const canvas = $("mask");
const pen = canvas.getContext("2d");

function fitCanvas() {
  const img = $("current");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.style.width = `${img.clientWidth}px`;
  canvas.style.height = `${img.clientHeight}px`;
  clearMask();
}

function clearMask() {
  pen.clearRect(0, 0, canvas.width, canvas.height);
  state.painted = false;
}

// What was painted shows in red over the image; the model gets white on black.
function maskPng() {
  const painted = pen.getImageData(0, 0, canvas.width, canvas.height);
  const mask = new ImageData(canvas.width, canvas.height);
  for (let i = 0; i < painted.data.length; i += 4) {
    const value = painted.data[i + 3] > 0 ? 255 : 0;
    mask.data.set([value, value, value, 255], i);
  }
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  out.getContext("2d").putImageData(mask, 0, 0);
  return out.toDataURL("image/png");
}

function paint(event) {
  if (!(event.buttons & 1)) return;
  const box = canvas.getBoundingClientRect();
  const scale = canvas.width / box.width;
  pen.fillStyle = "rgb(230, 40, 40)";
  pen.beginPath();
  pen.arc((event.clientX - box.left) * scale, (event.clientY - box.top) * scale,
    Number($("brush").value) * scale / 2, 0, 2 * Math.PI);
  pen.fill();
  state.painted = true;
}

// -- turns ----------------------------------------------------------------------------------

async function send(event) {
  event.preventDefault();
  if (state.busy) return;
  const instruction = $("instruction").value.trim();
  const inputs = state.edited == null ? [] : [state.edited, ...state.refs];
  const body = { instruction, inputs, mask: state.painted ? maskPng() : null,
    steps: Number($("steps").value), guidance: Number($("guidance").value), seed: Number($("seed").value) };
  state.busy = true;
  $("send").disabled = true;
  say("generating...");
  try {
    const turn = await getJson(`/api/conversations/${state.id}/turns`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const shown = inputs.map((n) => el("img", { src: imageUrl(n), alt: `input #${n}` }));
    $("turns").append(el("li", { "data-output": turn.output },
      el("div", { cls: "instruction", text: instruction }),
      ...shown, "→ ", el("img", { src: imageUrl(turn.output), alt: `result #${turn.output}`, cls: "result" }),
      el("span", { cls: "meta", text: `${turn.history_frames} earlier turn(s) as history` })));
    $("instruction").value = "";
    state.refs = [];
    addImage(turn.output, `turn ${turn.turn}`);
    say(`turn ${turn.turn} done: image #${turn.output}`);
  } catch (error) {
    say(error.message, true);
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

async function setUp() {
  const info = await getJson("/api/info");
  $("model").textContent = `${info.checkpoint} · step ${info.step} · ${info.resolution} px`;
  state.id = (await getJson("/api/conversations", { method: "POST" })).id;
  $("download").href = `/api/conversations/${state.id}/sample.tar`;
  $("examples-box").hidden = !info.examples.length;
  $("examples-box").open = info.examples.length > 0;
  $("examples").replaceChildren(...info.examples.map((label, i) => {
    const img = el("img", { src: `/api/examples/${i}.png`, alt: `example ${label}` });
    img.addEventListener("click", () => {
      $("examples-box").open = false;
      pickExample(i, label).catch((e) => say(e.message, true));
    });
    return el("div", { cls: "thumb example", title: label }, img);
  }));
  $("upload").addEventListener("change", (e) => upload(e.target.files[0]).catch((err) => say(err.message, true)));
  $("current").addEventListener("load", fitCanvas);
  canvas.addEventListener("pointerdown", paint);
  canvas.addEventListener("pointermove", paint);
  $("clear-mask").addEventListener("click", clearMask);
  $("turn").addEventListener("submit", send);
  render();
}

setUp().catch((error) => say(error.message, true));

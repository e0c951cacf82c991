// alphapose view: the results page. Plain script, no dependencies; all data is inline in
// <script type="application/json" id="view-data"> and, per chunk of frames, in
// <script type="application/octet-stream" id="chunk-R-C"> (base64 of deflate bytes, decoded
// only when a frame of that chunk is shown). Layout of a chunk: alphapose/view/page.py.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const DATA = JSON.parse($("view-data").textContent);
  const L = DATA.layout;
  const NF = DATA.frames;
  const media = DATA.media;
  const KEEP_CHUNKS = 8;  // decoded chunks kept per run (the rest are dropped, re-decoded on need)

  const state = {
    frame: 0, threshold: DATA.threshold, groups: L.groups.map(() => true), ids: true,
    boxes: false, playing: false, track: null, frameData: [], drawn: -1,
  };

  // ---------------------------------------------------------------- decoding
  function bytesOf(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function typed(b64, Type) {
    if (!b64) return new Type(0);
    const b = bytesOf(b64);
    return new Type(b.buffer, 0, b.byteLength / Type.BYTES_PER_ELEMENT);
  }
  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  async function decodeChunk(id, first) {
    const raw = await inflate(bytesOf($(id).textContent));
    const buf = raw.buffer;
    const [F, P, K, scale] = new Int32Array(buf, 0, 4);
    let o = 16;
    const ids = new Int32Array(buf, o, P); o += 4 * P;
    const boxes = new Float32Array(buf, o, 4 * P); o += 16 * P;
    const scores = new Float32Array(buf, o, P); o += 4 * P;
    const PK = P * K;
    const high = new Uint8Array(buf, o, 2 * PK); o += 2 * PK;
    const low = new Uint8Array(buf, o, 2 * PK); o += 2 * PK;
    const counts = new Uint16Array(buf, o, F); o += 2 * F;
    const delta = new Uint8Array(buf, o, PK);
    // a tracked person holds differences from the track's previous person (wrapping exactly:
    // Int16Array / Uint8Array stores are modulo 2^16 / 2^8)
    const xy = new Int16Array(2 * PK), conf = new Uint8Array(PK);
    const last = new Map();
    for (let p = 0; p < P; p++) {
      const q = ids[p] >= 0 ? last.get(ids[p]) : undefined;
      if (ids[p] >= 0) last.set(ids[p], p);
      for (let plane = 0; plane < 2; plane++) {
        const at = plane * PK + p * K, from = plane * PK + q * K;
        for (let k = 0; k < K; k++) {
          const v = (high[at + k] << 8) | low[at + k];
          xy[at + k] = q === undefined ? v : xy[from + k] + v;
        }
      }
      for (let k = 0; k < K; k++) {
        conf[p * K + k] = q === undefined ? delta[p * K + k] : conf[q * K + k] + delta[p * K + k];
      }
    }
    const offsets = new Int32Array(F + 1);
    for (let i = 0; i < F; i++) offsets[i + 1] = offsets[i] + counts[i];
    // --world: the chunk's 3D keypoints (int16 millimetres, all x, all y, all z; -32768 absent)
    const el3d = document.getElementById(id.replace("chunk-", "chunk3d-"));
    const xyz = el3d ? new Int16Array((await inflate(bytesOf(el3d.textContent))).buffer) : null;
    const K3 = xyz && P ? xyz.length / (3 * P) : 0;
    return { first, F, P, K, scale, ids, boxes, scores, xy, conf, offsets, xyz, K3 };
  }

  class RunData {
    constructor(index, summary) {
      this.index = index;
      this.s = summary;
      this.counts = typed(summary.counts, Uint16Array);
      this.starts = summary.chunks.map((c) => c.first);
      this.cache = new Map();
      this.colors = new Map(summary.tracks.map((t) => [t.id, t.color]));
    }
    chunkOf(f) {
      let lo = 0, hi = this.starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.starts[mid] <= f) lo = mid; else hi = mid - 1;
      }
      return lo;
    }
    load(c) {
      if (!this.cache.has(c)) {
        this.cache.set(c, decodeChunk(`chunk-${this.index}-${c}`, this.starts[c]));
        if (this.cache.size > KEEP_CHUNKS) this.cache.delete(this.cache.keys().next().value);
      }
      return this.cache.get(c);
    }
    async frame(f) {
      const c = this.chunkOf(f);
      const chunk = await this.load(c);
      if (c + 1 < this.starts.length && f - chunk.first > chunk.F / 2) this.load(c + 1);
      const i = f - chunk.first;
      return { chunk, from: chunk.offsets[i], to: chunk.offsets[i + 1] };
    }
  }
  const runs = DATA.runs.map((s, i) => new RunData(i, s));

  // ---------------------------------------------------------------- media
  const video = $("video"), image = $("image"), overlay = $("overlay"), stage = $("stage");
  const ctx = overlay.getContext("2d");
  let mediaReady = Promise.resolve();

  function setCanvasSize(w, h) {
    if (w > 0 && h > 0 && (overlay.width !== w || overlay.height !== h)) {
      overlay.width = w; overlay.height = h;
    }
  }
  function once(el, names) {
    return new Promise((resolve) => {
      const done = () => { names.forEach((n) => el.removeEventListener(n, done)); resolve(); };
      names.forEach((n) => el.addEventListener(n, done));
    });
  }
  if (media.kind === "video") {
    video.hidden = false;
    video.src = media.src;
    setCanvasSize(media.width, media.height);
    video.addEventListener("loadedmetadata", () => {
      if (!media.width) setCanvasSize(video.videoWidth, video.videoHeight);
    });
    video.addEventListener("error", () => showMessage(
      `The video ${media.src} cannot be played by this browser here (file pages may be refused ` +
      "local videos: try alphapose view --serve). Skeletons are drawn without it."));
  } else if (media.kind === "images") {
    image.hidden = false;
    image.addEventListener("error", () => showMessage(`Image ${image.getAttribute("src")} ` +
      "cannot be loaded (moved? pass the image folder with --media)."));
  } else {
    stage.classList.add("no-media");
    setCanvasSize(media.width, media.height);
  }

  function seekMedia(f) {
    if (media.kind === "video") {
      if (state.playing) return Promise.resolve();
      const t = (f + 0.5) / media.fps;
      if (Math.abs(video.currentTime - t) < 0.25 / media.fps && video.readyState >= 2) {
        return Promise.resolve();
      }
      const p = video.readyState >= 1 ? once(video, ["seeked", "error"])
        : once(video, ["loadeddata", "error"]).then(() => {
          video.currentTime = t;
          return once(video, ["seeked", "error"]);
        });
      if (video.readyState >= 1) video.currentTime = t;
      return p;
    }
    if (media.kind === "images") {
      const src = media.srcs[f];
      if (!src) { image.removeAttribute("src"); return Promise.resolve(); }
      if (image.getAttribute("src") === src && image.complete) return Promise.resolve();
      const p = once(image, ["load", "error"]).then(() => {
        if (image.naturalWidth) setCanvasSize(image.naturalWidth, image.naturalHeight);
      });
      image.src = src;
      return p;
    }
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- drawing
  function groupOn(k) { return state.groups[L.point_group[k] || 0]; }

  function drawPerson(run, chunk, p, color) {
    const K = chunk.K, PK = chunk.P * K, s = chunk.scale, thr = state.threshold;
    const longest = Math.max(overlay.width, overlay.height);
    // sizes as alphapose.render.draw_poses picks them (radius longest/320, width longest/480)
    const radius = Math.max(2, Math.round(longest / 320));
    const width = Math.max(1, Math.round(longest / 480));
    const base = p * K;
    const seen = new Uint8Array(K);
    for (let k = 0; k < K; k++) seen[k] = chunk.conf[base + k] > thr * 254 && groupOn(k) ? 1 : 0;
    const x = (k) => chunk.xy[base + k] / s, y = (k) => chunk.xy[PK + base + k] / s;
    ctx.lineCap = "round";
    L.edges.forEach(([a, b], e) => {
      if (!seen[a] || !seen[b]) return;
      ctx.strokeStyle = color || L.edge_colors[e];
      ctx.lineWidth = L.edge_thin[e] ? Math.max(1, width >> 1) : width;
      ctx.beginPath(); ctx.moveTo(x(a), y(a)); ctx.lineTo(x(b), y(b)); ctx.stroke();
    });
    for (let k = 0; k < K; k++) {
      if (!seen[k]) continue;
      ctx.fillStyle = color || L.point_colors[k] || "#ffffff";
      const r = L.point_thin[k] ? Math.max(1, radius >> 1) : radius;
      ctx.beginPath(); ctx.arc(x(k), y(k), r, 0, 2 * Math.PI); ctx.fill();
    }
    const id = chunk.ids[p];
    const box = chunk.boxes.subarray(4 * p, 4 * p + 4);
    const hasBox = box.every((v) => Number.isFinite(v));
    if (state.boxes && hasBox) {
      ctx.strokeStyle = color || "#0000ff"; ctx.lineWidth = width;
      ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
    }
    if (state.ids && id >= 0 && seen.some((v) => v)) {  // no label over a person fully hidden
      let ax = hasBox ? box[0] : Infinity, ay = hasBox ? box[1] : Infinity;
      if (!hasBox) for (let k = 0; k < K; k++) if (seen[k]) { ax = Math.min(ax, x(k)); ay = Math.min(ay, y(k)); }
      if (Number.isFinite(ax)) {
        const size = Math.max(12, Math.round(longest / 60));
        ctx.font = `bold ${size}px sans-serif`;
        ctx.lineWidth = Math.max(2, size / 5); ctx.strokeStyle = "#000";
        const label = DATA.compare ? `${"AB"[run.index]}${id}` : String(id);
        const ty = Math.max(size, ay - 4);
        ctx.strokeText(label, Math.max(0, ax), ty);
        ctx.fillStyle = color || "#fff"; ctx.fillText(label, Math.max(0, ax), ty);
      }
    }
  }

  function draw() {
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (media.kind === "none") { ctx.fillStyle = "#101215"; ctx.fillRect(0, 0, overlay.width, overlay.height); }
    // results put pixel centres at integer coordinates; the canvas puts them at +0.5
    ctx.save();
    ctx.translate(0.5, 0.5);
    state.frameData.forEach((fd, r) => {
      if (!fd) return;
      const run = runs[r];
      for (let p = fd.from; p < fd.to; p++) {
        const id = fd.chunk.ids[p];
        const color = DATA.compare ? run.s.color : (id >= 0 ? run.colors.get(id) : null);
        drawPerson(run, fd.chunk, p, color);
      }
    });
    ctx.restore();
    state.drawn = state.frame;
    pose3d.draw();
  }

  // ---------------------------------------------------------------- 3D pose panel
  // The 3D keypoints (--world) of one person: the one under the pointer on the frame, else the
  // selected track's, else the frame's highest-scoring person with 3D keypoints. Orthographic
  // view as alphapose.overlays.project_3d (camera turned `yaw` degrees about the vertical axis,
  // looking `pitch` degrees down); hips at the centre, 2.2 m across; drag to turn, double-click
  // to reset. Layout colours (render.py's part colours: left / right / centre).
  const pose3d = (() => {
    const canvas = $("pose3d");
    const has3d = runs.some((r) => r.s.k3 > 0);
    const VIEW = { yaw: -30, pitch: 15 };
    const panel = { view: { ...VIEW }, pointer: null, shown: null, background: "#1f2228", grid: "#3a3f48", draw() {} };
    if (!has3d) return panel;
    $("pose3d-section").hidden = false;
    function project(x, y, z) {
      const a = (panel.view.yaw * Math.PI) / 180, b = (panel.view.pitch * Math.PI) / 180;
      const u = Math.cos(a) * x + Math.sin(a) * z, w = -Math.sin(a) * x + Math.cos(a) * z;
      return [u, Math.cos(b) * y - Math.sin(b) * w, Math.sin(b) * y + Math.cos(b) * w];
    }
    function pick() {
      const people = [];
      state.frameData.forEach((fd, r) => {
        if (!fd || !fd.chunk.xyz) return;
        for (let p = fd.from; p < fd.to; p++) people.push({ r, fd, p });
      });
      if (!people.length) return null;
      // under the pointer (kept in image pixels, so playback follows whoever walks under it):
      // the smallest box holding it
      if (panel.pointer) {
        const [mx, my] = panel.pointer;
        let best = null, bestArea = Infinity;
        people.forEach((q) => {
          const b = q.fd.chunk.boxes.subarray(4 * q.p, 4 * q.p + 4);
          const area = (b[2] - b[0]) * (b[3] - b[1]);
          if (mx >= b[0] && mx <= b[2] && my >= b[1] && my <= b[3] && area < bestArea) { best = q; bestArea = area; }
        });
        if (best) return best;
      }
      if (state.track) {
        const t = people.find((q) => q.r === state.track.run && q.fd.chunk.ids[q.p] === state.track.t.id);
        if (t) return t;
      }
      return people.reduce((best, q) => (q.fd.chunk.scores[q.p] > best.fd.chunk.scores[best.p] ? q : best));
    }
    panel.draw = () => {
      const side = Math.max(100, Math.round(canvas.clientWidth * devicePixelRatio));
      if (canvas.width !== side) { canvas.width = side; canvas.height = side; }
      const c = canvas.getContext("2d");
      c.fillStyle = panel.background; c.fillRect(0, 0, side, side);
      const who = pick();
      panel.shown = who ? { run: who.r, frame: state.frame, index: who.p - who.fd.from } : null;
      if (!who) { $("pose3d-who").textContent = "(nobody in this frame)"; return; }
      const ch = who.fd.chunk, K3 = ch.K3, PK3 = ch.P * K3, base = who.p * K3;
      const scale = side / 2.2, half = side / 2;
      const pts = [];
      let floor = -Infinity;
      for (let k = 0; k < K3; k++) {
        const x = ch.xyz[base + k], y = ch.xyz[PK3 + base + k], z = ch.xyz[2 * PK3 + base + k];
        if (x === -32768 || y === -32768 || z === -32768 || !groupOn(k)) { pts.push(null); continue; }
        pts.push(project(x / 1000, y / 1000, z / 1000));
        floor = Math.max(floor, y / 1000);
      }
      const at = (q) => [half + q[0] * scale, half + q[1] * scale];
      // the floor under the lowest point: 1 m grid lines, 2 m square
      if (Number.isFinite(floor)) {
        c.strokeStyle = panel.grid; c.lineWidth = Math.max(1, devicePixelRatio);
        for (let i = -1; i <= 1; i++) {
          [[[i, floor, -1], [i, floor, 1]], [[-1, floor, i], [1, floor, i]]].forEach(([a, b]) => {
            const pa = at(project(...a)), pb = at(project(...b));
            c.beginPath(); c.moveTo(pa[0], pa[1]); c.lineTo(pb[0], pb[1]); c.stroke();
          });
        }
      }
      // far edges first, so near limbs cover them
      const edges = L.edges.map(([a, b], e) => [a, b, e]).filter(([a, b]) => a < K3 && b < K3 && pts[a] && pts[b]);
      edges.sort((m, n) => (pts[n[0]][2] + pts[n[1]][2]) - (pts[m[0]][2] + pts[m[1]][2]));
      const width = Math.max(2, Math.round(side / 90));
      c.lineCap = "round";
      edges.forEach(([a, b, e]) => {
        const pa = at(pts[a]), pb = at(pts[b]);
        c.strokeStyle = L.edge_colors[e]; c.lineWidth = L.edge_thin[e] ? Math.max(1, width >> 1) : width;
        c.beginPath(); c.moveTo(pa[0], pa[1]); c.lineTo(pb[0], pb[1]); c.stroke();
      });
      const radius = Math.max(2, Math.round(side / 80));
      pts.forEach((q, k) => {
        if (!q) return;
        const [x, y] = at(q);
        c.fillStyle = L.point_colors[k] || "#ffffff";
        c.beginPath(); c.arc(x, y, L.point_thin[k] ? Math.max(1, radius >> 1) : radius, 0, 2 * Math.PI); c.fill();
      });
      const id = ch.ids[who.p];
      const name = (DATA.compare ? `${runs[who.r].s.name}: ` : "") + (id >= 0 ? `id ${id}` : `person ${who.p - who.fd.from + 1}`);
      $("pose3d-who").textContent = `(${name}; metres, hip-centred; drag to turn, double-click to reset)`;
    };
    overlay.addEventListener("mousemove", (ev) => {
      const rect = overlay.getBoundingClientRect();
      panel.pointer = [((ev.clientX - rect.left) / rect.width) * overlay.width,
        ((ev.clientY - rect.top) / rect.height) * overlay.height];
      const who = pick();  // redrawn only when the pointer reaches another person
      if (!who || !panel.shown || who.r !== panel.shown.run || who.p - who.fd.from !== panel.shown.index) panel.draw();
    });
    overlay.addEventListener("mouseleave", () => { panel.pointer = null; panel.draw(); });
    let drag = null;
    canvas.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, ...panel.view }; canvas.setPointerCapture(ev.pointerId); });
    canvas.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      panel.view.yaw = drag.yaw + (ev.clientX - drag.x) * 0.6;
      panel.view.pitch = Math.max(-89, Math.min(89, drag.pitch + (ev.clientY - drag.y) * 0.6));
      panel.draw();
    });
    canvas.addEventListener("pointerup", () => { drag = null; });
    canvas.addEventListener("dblclick", () => { Object.assign(panel.view, VIEW); panel.draw(); });
    window.addEventListener("resize", () => panel.draw());
    return panel;
  })();

  // ---------------------------------------------------------------- frame changes
  let showToken = 0;
  async function show(f, fromPlayback) {
    f = Math.max(0, Math.min(NF - 1, Math.round(f)));
    state.frame = f;
    const token = ++showToken;
    updateFrameUI();
    const seek = fromPlayback ? Promise.resolve() : seekMedia(f);
    const data = await Promise.all(runs.map((run) => run.frame(f)));
    if (token !== showToken) return;
    state.frameData = data;
    draw();  // at once: the skeletons never wait for the media
    updateFrameInfo();
    // then again once the media shows the frame (an image may resize the canvas); a browser
    // that never loads the media does not hold the page
    await Promise.race([seek, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (token !== showToken) return;
    draw();
  }

  function fmtTime(f) {
    if (media.kind !== "video") return "";
    const t = f / media.fps;
    const m = Math.floor(t / 60), s = (t - 60 * m).toFixed(2).padStart(5, "0");
    return ` · ${m}:${s}`;
  }
  function frameName(f) { return DATA.names ? ` (${DATA.names[f]})` : ""; }

  function updateFrameUI() {
    const f = state.frame;
    $("scrub").value = f;
    $("frame-label").textContent = `frame ${f + 1} / ${NF}${frameName(f)}${fmtTime(f)}`;
    const box = $("lanes"), cursor = $("lanes-cursor");
    const bar = box.querySelector(".bar");
    if (bar) {
      const left = bar.offsetLeft + (NF > 1 ? (f + 0.5) / NF : 0.5) * bar.clientWidth;
      cursor.style.left = `${left}px`;
      cursor.style.height = `${box.offsetHeight}px`;  // all lanes, also when scrolled
    }
    plots.forEach((p) => p.draw());
  }

  function updateFrameInfo() {
    const parts = state.frameData.map((fd, r) => {
      const n = fd ? fd.to - fd.from : 0;
      return DATA.compare ? `<span class="swatch" style="background:${runs[r].s.color}"></span>` +
        `${escapeHtml(runs[r].s.name)}: ${n} people` : `${n} people in this frame`;
    });
    if (DATA.diff) {
      const m = diff.matched[state.frame], d = diff.distance[state.frame];
      parts.push(`matched ${m}` + (Number.isFinite(d) ? `, mean distance ${d.toFixed(1)} px` : ""));
    }
    $("frame-info").innerHTML = parts.join(" · ");
  }

  // ---------------------------------------------------------------- playback
  let timer = null;
  function play() {
    if (state.playing) return;
    state.playing = true;
    $("play").innerHTML = "&#10074;&#10074;";
    if (media.kind === "video" && !video.error) {
      if (state.frame >= NF - 1) { state.playing = false; show(0).then(play); return; }
      const onFrame = (now, meta) => {
        if (!state.playing) return;
        show(Math.round(meta.mediaTime * media.fps), true);
        video.requestVideoFrameCallback(onFrame);
      };
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
      else {
        const tick = () => {
          if (!state.playing) return;
          show(Math.floor(video.currentTime * media.fps + 1e-3), true);
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }
      video.play().catch(() => pause());
    } else {
      const fps = media.fps || 10;
      timer = setInterval(() => {
        if (state.frame >= NF - 1) { pause(); return; }
        show(state.frame + 1);
      }, 1000 / fps);
    }
  }
  function pause() {
    if (!state.playing) return;
    state.playing = false;
    $("play").innerHTML = "&#9654;";
    if (timer) { clearInterval(timer); timer = null; }
    if (media.kind === "video") { video.pause(); show(Math.floor(video.currentTime * media.fps + 1e-3)); }
  }
  if (media.kind === "video") video.addEventListener("ended", pause);

  // ---------------------------------------------------------------- plots
  function plot(canvas, render, span) {
    const p = {
      canvas, draw() {
        const w = Math.max(100, Math.round(canvas.clientWidth * devicePixelRatio));
        const h = Math.round(Number(canvas.getAttribute("height")) * devicePixelRatio);
        if (canvas.width !== w) canvas.width = w;
        if (canvas.height !== h) canvas.height = h;
        const c = canvas.getContext("2d");
        c.clearRect(0, 0, w, h);
        const [first, last] = span();
        render(c, w, h, first, last);
        if (state.frame >= first && state.frame <= last) {
          const x = ((state.frame - first + 0.5) / (last - first + 1)) * w;
          c.fillStyle = "rgba(255,255,255,0.8)"; c.fillRect(Math.round(x), 0, Math.max(1, devicePixelRatio), h);
        }
      },
    };
    canvas.addEventListener("click", (ev) => {
      const [first, last] = span();
      const rect = canvas.getBoundingClientRect();
      pause();
      show(first + Math.floor(((ev.clientX - rect.left) / rect.width) * (last - first + 1)));
    });
    return p;
  }
  function drawSeries(c, w, h, values, bins, groups, colors) {
    // values: Uint8Array bins x groups, 0..254 (255: no data)
    if (!values.length) return;
    c.fillStyle = "#9aa0aa"; c.font = `${10 * devicePixelRatio}px sans-serif`;
    [0, 0.5, 1].forEach((v) => {
      const y = h - 4 - v * (h - 8);
      c.fillRect(0, Math.round(y), w, 1);
      c.fillText(v.toFixed(1), 2, Math.max(10 * devicePixelRatio, y - 2));
    });
    groups.forEach((g, gi) => {
      c.strokeStyle = colors[g]; c.lineWidth = Math.max(1, devicePixelRatio * 1.5);
      c.beginPath();
      let pen = false;
      for (let b = 0; b < bins; b++) {
        const v = values[b * groups.length + gi];
        if (v === 255) { pen = false; continue; }
        const x = ((b + 0.5) / bins) * w, y = h - 4 - (v / 254) * (h - 8);
        if (pen) c.lineTo(x, y); else c.moveTo(x, y);
        pen = true;
      }
      c.stroke();
      c.fillStyle = colors[g];  // dots too: a bin between two gaps has no line
      const r = 1.5 * devicePixelRatio;
      for (let b = 0; b < bins; b++) {
        const v = values[b * groups.length + gi];
        if (v !== 255) c.fillRect(((b + 0.5) / bins) * w - r, h - 4 - (v / 254) * (h - 8) - r, 2 * r, 2 * r);
      }
    });
  }
  const confByRun = runs.map((r) => typed(r.s.conf_time, Uint8Array));
  const trackConf = new Map();
  const confPlot = plot($("conf-plot"), (c, w, h) => {
    const run = runs[state.track ? state.track.run : 0];
    if (state.track) {
      const t = state.track.t;
      if (!trackConf.has(t)) trackConf.set(t, typed(t.conf, Uint8Array));
      drawSeries(c, w, h, trackConf.get(t), t.bins, run.s.groups, L.group_colors);
    } else {
      drawSeries(c, w, h, confByRun[0], run.s.conf_bins, run.s.groups, L.group_colors);
    }
  }, () => (state.track ? [state.track.t.first, state.track.t.last] : [0, NF - 1]));
  const countPlot = plot($("count-plot"), (c, w, h) => {
    const top = Math.max(1, ...runs.map((r) => r.s.max_count));
    runs.forEach((run, r) => {
      c.fillStyle = DATA.compare ? run.s.color : "#4aa3ff";
      c.globalAlpha = DATA.compare ? 0.6 : 1;
      const col = new Float32Array(w);
      for (let f = 0; f < NF; f++) {
        const x = Math.min(w - 1, Math.floor((f / NF) * w));
        col[x] = Math.max(col[x], run.counts[f]);
      }
      const step = Math.max(1, w / NF);
      for (let x = 0; x < w; x++) {
        if (!col[x]) continue;
        const bh = (col[x] / top) * (h - 6);
        c.fillRect(x, h - bh, Math.ceil(step), bh);
      }
    });
    c.globalAlpha = 1;
    c.fillStyle = "#9aa0aa"; c.font = `${11 * devicePixelRatio}px sans-serif`;
    c.fillText(`max ${top}`, 4, 12 * devicePixelRatio);
  }, () => [0, NF - 1]);
  const plots = [confPlot, countPlot];
  const diff = DATA.diff ? {
    matched: typed(DATA.diff.matched, Uint16Array), distance: typed(DATA.diff.distance, Float32Array),
  } : null;
  if (diff) {
    $("diff-section").hidden = false;
    let top = 1;
    diff.distance.forEach((d) => { if (Number.isFinite(d)) top = Math.max(top, d); });
    plots.push(plot($("diff-plot"), (c, w, h) => {
      c.fillStyle = "#e0a040";
      for (let f = 0; f < NF; f++) {
        const d = diff.distance[f];
        if (!Number.isFinite(d)) continue;
        const x = Math.floor((f / NF) * w), bh = (d / top) * (h - 6);
        c.fillRect(x, h - bh, Math.max(1, Math.ceil(w / NF)), bh);
      }
      c.fillStyle = "#ff5060";  // frames whose people counts differ
      for (let f = 0; f < NF; f++) {
        if (runs[0].counts[f] !== runs[1].counts[f]) c.fillRect(Math.floor((f / NF) * w), 0, Math.max(1, Math.ceil(w / NF)), 4);
      }
      c.fillStyle = "#9aa0aa"; c.font = `${11 * devicePixelRatio}px sans-serif`;
      c.fillText(`max ${top.toFixed(1)} px · red: people counts differ`, 4, 14 * devicePixelRatio);
    }, () => [0, NF - 1]));
  }

  // ---------------------------------------------------------------- lanes
  function buildLanes() {
    const box = $("lanes");
    let total = 0;
    runs.forEach((run) => {
      run.s.tracks.forEach((t) => {
        total++;
        const lane = document.createElement("div");
        lane.className = "lane";
        lane.dataset.track = t.id;
        lane.dataset.run = run.index;
        const color = DATA.compare ? run.s.color : t.color;
        const prefix = DATA.compare ? "AB"[run.index] : "";
        lane.innerHTML = `<span class="label"><span class="swatch" style="background:${color}"></span>` +
          `${prefix}${t.id}</span><span class="bar"></span>`;
        lane.title = `id ${t.id}: frames ${t.first + 1}-${t.last + 1}, seen in ${t.frames}, ` +
          `${t.segments.length} segment(s)` + (t.after ? `; starts ${t.after.gap} frame(s) ` +
          `after id ${t.after.id} ended where it is: an id switch?` : "");
        const bar = lane.querySelector(".bar");
        if (t.after) {
          lane.classList.add("switch");
          lane.dataset.after = t.after.id;
          const mark = document.createElement("span");
          mark.className = "switch-mark";
          mark.style.left = `${(t.first / NF) * 100}%`;
          mark.textContent = `↪${t.after.id}`;
          bar.appendChild(mark);
        }
        t.segments.forEach(([a, b]) => {
          const seg = document.createElement("span");
          seg.className = "seg";
          seg.style.left = `${(a / NF) * 100}%`;
          seg.style.width = `${((b - a + 1) / NF) * 100}%`;
          seg.style.background = color;
          bar.appendChild(seg);
        });
        lane.addEventListener("click", (ev) => {
          const rect = bar.getBoundingClientRect();
          let f = Math.floor(((ev.clientX - rect.left) / rect.width) * NF);
          if (ev.clientX < rect.left) f = t.first;
          selectTrack(run.index, t, lane);
          pause();
          show(Math.max(0, Math.min(NF - 1, f)));
        });
        box.appendChild(lane);
      });
    });
    const untracked = runs.reduce((n, r) => n + r.s.untracked, 0);
    $("lanes-note").textContent = total ? `(${total} ids; click a lane to jump there and plot it)`
      : (untracked ? "(no track ids in these results: run with --pose-track)" : "(nobody found)");
  }
  function selectTrack(r, t, lane) {
    document.querySelectorAll(".lane.selected").forEach((el) => el.classList.remove("selected"));
    if (state.track && state.track.t === t) { state.track = null; }
    else { state.track = { run: r, t }; lane.classList.add("selected"); }
    $("conf-who").textContent = state.track ? `(id ${t.id}, frames ${t.first + 1}-${t.last + 1})` : "(all people)";
    confPlot.draw();
    pose3d.draw();
  }

  // ---------------------------------------------------------------- summary
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function emptyRanges(counts) {
    const out = [];
    let start = -1;
    for (let f = 0; f <= counts.length; f++) {
      const empty = f < counts.length && counts[f] === 0;
      if (empty && start < 0) start = f;
      if (!empty && start >= 0) { out.push([start, f - 1]); start = -1; }
    }
    return out;
  }
  function buildSummary() {
    const rows = [];
    const head = ["", ...runs.map((r) => (DATA.compare ? `<span class="swatch" style="background:${r.s.color}"></span>` : "") + escapeHtml(r.s.name))];
    const row = (label, values) => rows.push(`<tr><th>${label}</th>${values.map((v) => `<td>${v}</td>`).join("")}</tr>`);
    row("frames", runs.map(() => NF));
    row("people (all frames)", runs.map((r) => r.s.people));
    row("people per frame", runs.map((r) => `${(r.s.people / Math.max(1, NF)).toFixed(2)} mean, ${r.s.max_count} max`));
    row("frames with no people", runs.map((r) => r.s.empty_frames));
    row("track ids", runs.map((r) => r.s.tracks.length));
    row("tracks starting where one ended (id switches?)", runs.map((r) => r.s.tracks.filter((t) => t.after).length));
    L.groups.forEach((g) => row(`mean score: ${g}`, runs.map((r) => {
      const v = r.s.part_means[g];
      return v === null || v === undefined ? "-" : v.toFixed(3);
    })));
    let text = `<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows.join("")}</table>`;
    runs.forEach((r) => {
      const ranges = emptyRanges(r.counts);
      if (!ranges.length) return;
      const links = ranges.slice(0, 30).map(([a, b]) => `<a class="jump" data-frame="${a}">${a + 1}${b > a ? "-" + (b + 1) : ""}</a>`);
      text += `<div>${DATA.compare ? escapeHtml(r.s.name) + ": " : ""}frames with no people: ${links.join("")}${ranges.length > 30 ? ` … (${ranges.length} ranges)` : ""}</div>`;
    });
    $("summary").innerHTML = text;
    $("summary").querySelectorAll("a.jump").forEach((a) => a.addEventListener("click", () => { pause(); show(Number(a.dataset.frame)); }));
    const settings = DATA.compare ? Object.fromEntries(runs.map((r) => [r.s.name, r.s.settings])) : runs[0].s.settings;
    $("settings").textContent = JSON.stringify({ layout: L.name, keypoints: L.num_keypoints, media: media.kind === "video" ? media.src : media.kind, ...settings }, null, 1);
  }

  // ---------------------------------------------------------------- controls
  function showMessage(text) { const m = $("message"); m.hidden = false; m.textContent = text; }
  function buildControls() {
    $("title").textContent = DATA.title;
    $("run-info").textContent = `${NF} frames · layout ${L.name || `${L.num_keypoints} keypoints`}` +
      (media.kind === "video" ? ` · ${media.fps.toFixed(2)} fps` : "");
    const scrub = $("scrub");
    scrub.max = Math.max(0, NF - 1);
    scrub.addEventListener("input", () => { pause(); show(Number(scrub.value)); });
    $("play").addEventListener("click", () => (state.playing ? pause() : play()));
    $("prev").addEventListener("click", () => { pause(); show(state.frame - 1); });
    $("next").addEventListener("click", () => { pause(); show(state.frame + 1); });
    document.addEventListener("keydown", (ev) => {
      if (ev.target instanceof HTMLInputElement && ev.target.type !== "range") return;
      if (ev.key === " ") { ev.preventDefault(); state.playing ? pause() : play(); }
      else if (ev.key === "ArrowRight") { ev.preventDefault(); pause(); show(state.frame + 1); }
      else if (ev.key === "ArrowLeft") { ev.preventDefault(); pause(); show(state.frame - 1); }
    });
    const toggles = $("group-toggles");
    L.groups.forEach((g, i) => {
      const label = document.createElement("label");
      label.innerHTML = `<input type="checkbox" data-group="${g}" checked> <span class="swatch" style="background:${L.group_colors[g]}"></span>${g}`;
      label.querySelector("input").addEventListener("change", (ev) => { state.groups[i] = ev.target.checked; draw(); });
      toggles.appendChild(label);
    });
    $("show-ids").addEventListener("change", (ev) => { state.ids = ev.target.checked; draw(); });
    $("show-boxes").addEventListener("change", (ev) => { state.boxes = ev.target.checked; draw(); });
    const thr = $("threshold");
    thr.value = state.threshold;
    $("threshold-value").textContent = state.threshold.toFixed(2);
    thr.addEventListener("input", () => {
      state.threshold = Number(thr.value);
      $("threshold-value").textContent = state.threshold.toFixed(2);
      draw();
    });
    $("conf-legend").innerHTML = runs[0].s.groups.map((g) => `<span><span class="swatch" style="background:${L.group_colors[g]}"></span>${g}</span>`).join("");
    $("conf-who").textContent = "(all people)";
    window.addEventListener("resize", () => updateFrameUI());
  }

  buildControls();
  buildLanes();
  buildSummary();
  const ready = (typeof DecompressionStream === "undefined")
    ? Promise.reject(new Error("this browser lacks DecompressionStream (needs Chrome 80, Firefox 113, Safari 16.4 or newer)"))
    : show(0);
  ready.catch((error) => showMessage(String(error)));

  // For scripts and tests driving the page: the data, the state, and show(frame) -> Promise.
  window.alphaposeView = { data: DATA, state, show: (f) => show(f), ready, play, pause, runs, pose3d };
})();

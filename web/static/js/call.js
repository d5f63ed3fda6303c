// One call through the server hub: one RTCPeerConnection, VP8 + Opus, offer after ICE gathering
// completes (the server does not trickle). The own offer only publishes; every other participant
// arrives in a server `offer` (docs/signaling.md, "Rooms of N participants"), which this client
// answers as the polite side, and is shown in a tile labelled with its name and role.

const ROLES = {
  terminal: "村信息中心",
  officer: "接访人员",
  leader: "领导",
  desk: "导访台",
  department: "责任单位",
  supervisor: "督查",
  admin: "管理员",
};

function waitForGathering(pc, timeoutMs = 3000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}

export class HubCall extends EventTarget {
  constructor(client, { localVideo, remoteVideo, iceServers = [] }) {
    super();
    this.client = client;
    this.localVideo = localVideo;
    this.remoteVideo = remoteVideo; // the first remote participant; others get tiles beside it
    this.iceServers = iceServers;
    this.pc = null;
    this.stream = null;
    this.room = null;
    this.publishing = false;
    this.negotiation = Promise.resolve(); // server offers are answered one after the other
    this.tiles = new Map(); // participant -> {figure, video, created}
    this.primary = null;
    this.onServerOffer = (ev) => this.#serverOffer(ev.detail);
    this.onReopen = () => this.#rejoin();
  }

  async start(room) {
    this.room = room;
    if (!this.stream) {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: 640, height: 480, frameRate: 30 },
      });
      this.localVideo.srcObject = this.stream;
    }
    this.client.addEventListener("server-offer", this.onServerOffer);
    this.client.addEventListener("open", this.onReopen);
    await this.client.request({ type: "join", room });
    // Fetched per call: TURN credentials are short-lived and a visitor may wait for long.
    const res = await fetch("/api/ice-servers", { credentials: "same-origin" });
    const iceServers = res.ok ? (await res.json()).ice_servers : this.iceServers;
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    pc.ontrack = (ev) => this.dispatchEvent(new CustomEvent("track", { detail: ev.track }));
    pc.onconnectionstatechange = () =>
      this.dispatchEvent(new CustomEvent("state", { detail: pc.connectionState }));
    for (const track of this.stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: "sendrecv", streams: [this.stream] });
      if (track.kind === "video" && tr.setCodecPreferences && RTCRtpReceiver.getCapabilities) {
        const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
        const vp8 = codecs.filter((c) => /VP8|rtx/i.test(c.mimeType));
        if (vp8.length) tr.setCodecPreferences(vp8);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    // While our own offer is in flight, server offers name the peer connection it replaces.
    this.publishing = true;
    let answer;
    try {
      answer = await this.client.request({ type: "offer", room, sdp: pc.localDescription.sdp });
    } finally {
      this.publishing = false;
    }
    // Server offers for this peer connection come after the answer; they wait for it here.
    this.negotiation = pc.setRemoteDescription({ type: answer.sdp_type, sdp: answer.sdp });
    await this.negotiation;
  }

  #serverOffer(frame) {
    if (frame.room !== this.room || this.publishing || !this.pc) return;
    const pc = this.pc;
    this.negotiation = this.negotiation
      .then(() => this.#answer(pc, frame))
      .catch((err) => this.dispatchEvent(new CustomEvent("negotiation-error", { detail: err })));
  }

  async #answer(pc, frame) {
    if (pc !== this.pc || pc.signalingState === "closed") return;
    // Perfect negotiation, polite side: a pending offer of ours gives way to the server's.
    if (pc.signalingState !== "stable") await pc.setLocalDescription({ type: "rollback" });
    await pc.setRemoteDescription({ type: "offer", sdp: frame.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await waitForGathering(pc);
    const { room, revision } = frame;
    await this.client.request({ type: "answer", room, revision, sdp: pc.localDescription.sdp });
    this.#render(pc, frame.tracks);
  }

  // After a signaling reconnect: join again, so that server offers reach the new connection.
  async #rejoin() {
    if (!this.room || !this.pc) return;
    await this.client.request({ type: "join", room: this.room }).catch(() => {});
  }

  // One tile per remote participant, from the offer's mid -> participant map.
  #render(pc, tracks) {
    const people = new Map();
    for (const [mid, info] of Object.entries(tracks)) {
      const transceiver = pc.getTransceivers().find((t) => t.mid === mid);
      if (!transceiver) continue;
      const person = people.get(info.participant) ?? { info, tracks: [] };
      person.tracks.push(transceiver.receiver.track);
      people.set(info.participant, person);
    }
    for (const [id, tile] of this.tiles) {
      if (people.has(id)) continue;
      if (tile.created) tile.figure.remove();
      else tile.video.srcObject = null;
      this.tiles.delete(id);
      if (this.primary === id) this.primary = null;
    }
    if (this.primary === null && people.size) {
      const [first] = people.keys();
      const moved = this.tiles.get(first);
      if (moved) {
        moved.figure.remove();
        this.tiles.delete(first);
      }
      this.primary = first;
      const figure = this.remoteVideo.closest("figure") ?? this.remoteVideo;
      this.tiles.set(first, { figure, video: this.remoteVideo, created: false });
    }
    for (const [id, { info, tracks: own }] of people) {
      let tile = this.tiles.get(id);
      if (!tile) tile = this.#newTile();
      this.tiles.set(id, tile);
      tile.figure.dataset.participant = id;
      const label = `${info.name || id}（${ROLES[info.role] ?? info.role}）`;
      if (tile.created) tile.figure.querySelector("figcaption").textContent = label;
      else tile.figure.title = label;
      const current = tile.video.srcObject?.getTracks() ?? [];
      if (current.length !== own.length || own.some((t) => !current.includes(t))) {
        tile.video.srcObject = new MediaStream(own);
      }
    }
    this.dispatchEvent(new CustomEvent("participants", { detail: [...people.keys()] }));
  }

  #newTile() {
    const figure = document.createElement("figure");
    figure.className = "tile";
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    figure.append(video, document.createElement("figcaption"));
    const anchor = this.remoteVideo.closest("figure") ?? this.remoteVideo;
    const last = [...this.tiles.values()].filter((t) => t.created).at(-1)?.figure ?? anchor;
    last.after(figure);
    return { figure, video, created: true };
  }

  async stop() {
    this.client.removeEventListener("server-offer", this.onServerOffer);
    this.client.removeEventListener("open", this.onReopen);
    if (this.room && this.client) {
      try {
        await this.client.request({ type: "leave", room: this.room }, 3000);
      } catch (_) {
        // the room may already be closed by the other side
      }
    }
    if (this.pc) this.pc.close();
    this.pc = null;
    for (const tile of this.tiles.values()) {
      if (tile.created) tile.figure.remove();
      else tile.video.srcObject = null;
    }
    this.tiles.clear();
    this.primary = null;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.room = null;
  }
}

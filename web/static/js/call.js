// One video call through the server hub: one RTCPeerConnection, VP8 + Opus, offer after ICE
// gathering completes (the server does not trickle), remote media shown in a <video>.

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
    this.remoteVideo = remoteVideo;
    this.iceServers = iceServers;
    this.pc = null;
    this.stream = null;
    this.room = null;
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
    await this.client.request({ type: "join", room });
    // Fetched per call: TURN credentials are short-lived and a visitor may wait for long.
    const res = await fetch("/api/ice-servers", { credentials: "same-origin" });
    const iceServers = res.ok ? (await res.json()).ice_servers : this.iceServers;
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    const remote = new MediaStream();
    this.remoteVideo.srcObject = remote;
    pc.ontrack = (ev) => {
      remote.addTrack(ev.track);
      this.dispatchEvent(new CustomEvent("track", { detail: ev.track }));
    };
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
    const answer = await this.client.request({ type: "offer", room, sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: answer.sdp_type, sdp: answer.sdp });
  }

  async stop() {
    if (this.room && this.client) {
      try {
        await this.client.request({ type: "leave", room: this.room }, 3000);
      } catch (_) {
        // the room may already be closed by the other side
      }
    }
    if (this.pc) this.pc.close();
    this.pc = null;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.room = null;
  }
}

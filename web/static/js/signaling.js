// Jiefang Hall signaling client: one WebSocket to the server, JSON frames as in docs/signaling.md.
// Reconnects with backoff, re-subscribes its topics, answers requests by `ref`.

export class SignalingClient extends EventTarget {
  constructor(url = SignalingClient.defaultUrl()) {
    super();
    this.url = url;
    this.ws = null;
    this.nextRef = 1;
    this.pending = new Map();
    this.topics = new Set();
    this.welcome = null;
    this.closed = false;
    this.backoff = 500;
    this.pingTimer = null;
  }

  static defaultUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  connect() {
    this.closed = false;
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onmessage = (msg) => this.#onFrame(JSON.parse(msg.data), resolve);
      ws.onclose = (event) => this.#onClose(event);
    });
  }

  #onFrame(frame, resolveWelcome) {
    if (frame.type === "welcome") {
      this.welcome = frame;
      this.backoff = 500;
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), frame.heartbeat_s * 1000);
      for (const topic of this.topics) this.send({ type: "subscribe", topic });
      this.dispatchEvent(new CustomEvent("open", { detail: frame }));
      resolveWelcome(frame);
      return;
    }
    if (frame.ref !== undefined && this.pending.has(frame.ref)) {
      const { resolve, reject } = this.pending.get(frame.ref);
      this.pending.delete(frame.ref);
      if (frame.type === "error") reject(Object.assign(new Error(frame.error.message), frame.error));
      else resolve(frame);
      return;
    }
    if (frame.type === "event") {
      this.dispatchEvent(new CustomEvent(frame.name, { detail: frame }));
      this.dispatchEvent(new CustomEvent("event", { detail: frame }));
    } else if (frame.type === "error") {
      this.dispatchEvent(new CustomEvent("protocol-error", { detail: frame.error }));
    }
  }

  #onClose(event) {
    clearInterval(this.pingTimer);
    for (const { reject } of this.pending.values()) reject(new Error("连接已断开"));
    this.pending.clear();
    // 1008: the account was deactivated or its password reset; reconnecting cannot succeed.
    if (event.code === 1008) this.closed = true;
    this.dispatchEvent(new CustomEvent("close", { detail: { code: event.code } }));
    if (this.closed) return;
    setTimeout(() => this.connect(), this.reconnectDelay(event.code));
    this.backoff = Math.min(this.backoff * 2, 10000);
  }

  // Milliseconds to wait before reconnecting after a close with `code` (docs/signaling.md,
  // Reconnection): the server refuses (429) a flooding client until its cooldown has passed,
  // and an account over its socket cap until another of its sockets closes.
  reconnectDelay(code) {
    if (code === 4029) return Math.max(this.backoff, (this.welcome?.cooldown_s ?? 30) * 1000);
    if (code === 4009) return Math.max(this.backoff, 30000);
    return this.backoff;
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // Send a frame and wait for the reply that carries the same ref (or its error frame).
  request(frame, timeoutMs = 15000) {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(ref)) reject(new Error("请求超时"));
      }, timeoutMs);
      this.send({ ...frame, ref });
    });
  }

  async subscribe(topic) {
    this.topics.add(topic);
    return this.request({ type: "subscribe", topic });
  }

  async unsubscribe(topic) {
    this.topics.delete(topic);
    return this.request({ type: "unsubscribe", topic });
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

import { KsError } from '@kaltura-ks/core';
import type { CommandSender } from './scripts.js';

export interface BreakerOptions {
  /** Sends a command on the store's commands connection. */
  send: CommandSender['sendCommand'];
  /** Once a command has gone unanswered this long (ms), later ones fail at once. */
  failFastAfterMs: number;
  /**
   * Drops the commands connection and connects anew, once the breaker has
   * stayed open `reconnectAfterMs` (only for a connection the store opened).
   */
  reconnect: (() => void) | undefined;
  reconnectAfterMs: number;
  report: (error: KsError, always?: boolean) => void;
}

/**
 * Sends commands, or fails them at once while an earlier one has gone
 * unanswered for `failFastAfterMs`: Redis answers a connection's commands in
 * order, so a later one would wait behind it anyway (a circuit breaker whose
 * probe is the command already in flight). Both bounds are judged after the
 * I/O already waiting has been read, so a busy event loop is not taken for a
 * Redis that does not answer.
 */
export class CommandBreaker implements CommandSender {
  readonly #options: BreakerOptions;
  /** When each command Redis has not answered yet was sent, oldest first. */
  readonly #unanswered = new Map<symbol, number>();
  /** The unanswered command that opened the breaker, if it is open. */
  #stalled: symbol | undefined;
  /** The timer that checks the oldest unanswered command at its deadline. */
  #watch: ReturnType<typeof setTimeout> | undefined;
  /** While the breaker is open: the timer that drops the connection after `reconnectAfterMs`. */
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: BreakerOptions) {
    this.#options = options;
  }

  sendCommand(args: readonly string[], key: string): Promise<unknown> {
    if (this.#stalled !== undefined) {
      const error = new KsError(
        'ERR_KS_TIMEOUT',
        `Redis has left a command unanswered for over ${this.#options.failFastAfterMs} ms`,
      );
      this.#options.report(error);
      return Promise.reject(error);
    }
    const id = Symbol();
    this.#unanswered.set(id, performance.now());
    const answered = () => {
      this.#unanswered.delete(id);
      if (this.#stalled === id) {
        this.#stalled = undefined;
        clearTimeout(this.#reconnect);
        this.#reconnect = undefined;
        this.#watchOldest();
      }
    };
    try {
      const reply = this.#options.send(args, key);
      reply.then(answered, answered);
      this.#watchOldest();
      return reply;
    } catch (error) {
      answered();
      return Promise.reject(error);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#watch);
    clearTimeout(this.#reconnect);
  }

  /**
   * Opens the breaker when the oldest unanswered command is still unanswered at
   * its deadline — judged by a timer and after the I/O waiting to be read, so a
   * busy event loop (whose answers sit unread in the socket) does not count as
   * a Redis that does not answer.
   */
  #watchOldest(): void {
    if (this.#watch !== undefined || this.#stalled !== undefined || this.#closed) return;
    const oldest = this.#unanswered.entries().next();
    if (oldest.done) return;
    const [id, sentAt] = oldest.value;
    const due = Math.max(0, sentAt + this.#options.failFastAfterMs - performance.now());
    this.#watch = setTimeout(() => {
      setImmediate(() => {
        this.#watch = undefined;
        if (this.#closed) return;
        if (this.#unanswered.has(id)) this.#open(id);
        else this.#watchOldest();
      });
    }, due);
    this.#watch.unref?.();
  }

  /**
   * Opens the breaker on `id`. If it is still open `reconnectAfterMs` later
   * (judged after the I/O waiting to be read, as above), Redis is not going to
   * answer on this connection — the path may have lost the reply, or the
   * server is wedged — while TCP keeps it up: the store drops the connection
   * it owns, which rejects the commands unanswered on it (and so closes the
   * breaker), and connects anew.
   */
  #open(id: symbol): void {
    this.#stalled = id;
    const reconnect = this.#options.reconnect;
    if (reconnect === undefined) return;
    const { failFastAfterMs, reconnectAfterMs } = this.#options;
    this.#reconnect = setTimeout(() => {
      setImmediate(() => {
        if (this.#closed || this.#stalled !== id) return;
        this.#reconnect = undefined;
        this.#options.report(
          new KsError(
            'ERR_KS_TIMEOUT',
            `Redis has left a command unanswered for over ${failFastAfterMs + reconnectAfterMs} ms with the connection up: reconnecting`,
          ),
          true,
        );
        reconnect();
      });
    }, reconnectAfterMs);
    this.#reconnect.unref?.();
  }
}

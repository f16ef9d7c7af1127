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

/** A command sent that Redis has not answered yet. */
interface Unanswered {
  /**
   * When its clock started (`performance.now()`): once the turn of the event
   * loop that sent it was over — node-redis writes a turn's commands to the
   * socket only then — or, if later, once the command sent before it was
   * answered (Redis answers in order: until then it waits behind that one, on
   * that one's clock). `undefined` until the turn is over.
   */
  since: number | undefined;
}

/**
 * Sends commands, or fails them at once while an earlier one has gone
 * unanswered for `failFastAfterMs`: Redis answers a connection's commands in
 * order, so a later one would wait behind it anyway (a circuit breaker whose
 * probe is the command already in flight). A command's clock starts when it
 * is on its way to Redis, not when it is called: a burst of calls in one busy
 * turn (a cold storm) is this process's time. Both bounds are judged after the
 * I/O already waiting has been read, so a busy event loop is not taken for a
 * Redis that does not answer.
 */
export class CommandBreaker implements CommandSender {
  readonly #options: BreakerOptions;
  /** The commands Redis has not answered yet, oldest first. */
  readonly #unanswered = new Set<Unanswered>();
  /** Commands sent in this turn of the event loop: their clocks start once it is over. */
  #unstarted: Unanswered[] = [];
  /** The unanswered command that opened the breaker, if it is open. */
  #stalled: Unanswered | undefined;
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
    const command: Unanswered = { since: undefined };
    this.#unanswered.add(command);
    const answered = () => {
      const wasOldest = this.#unanswered.values().next().value === command;
      this.#unanswered.delete(command);
      if (wasOldest) {
        // The next one was waiting behind this one: Redis is on it from now.
        const next = this.#unanswered.values().next().value;
        if (next?.since !== undefined) next.since = performance.now();
      }
      if (this.#stalled === command) {
        this.#stalled = undefined;
        clearTimeout(this.#reconnect);
        this.#reconnect = undefined;
        this.#watchOldest();
      }
    };
    let reply: Promise<unknown>;
    try {
      reply = this.#options.send(args, key);
    } catch (error) {
      answered();
      return Promise.reject(error);
    }
    reply.then(answered, answered);
    // Scheduled after `send`, so after node-redis's own write of this turn's commands (a
    // setImmediate too; they run in order): the clock starts once the command is written.
    this.#unstarted.push(command);
    if (this.#unstarted.length === 1) setImmediate(() => this.#startClocks());
    return reply;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#watch);
    clearTimeout(this.#reconnect);
  }

  /** Starts the clocks of the commands sent in the turn just over, and watches the oldest. */
  #startClocks(): void {
    const now = performance.now();
    for (const command of this.#unstarted) command.since = now;
    this.#unstarted = [];
    this.#watchOldest();
  }

  /**
   * Opens the breaker when the oldest unanswered command is still unanswered at
   * its deadline — judged by a timer and after the I/O waiting to be read, so a
   * busy event loop (whose answers sit unread in the socket) does not count as
   * a Redis that does not answer.
   */
  #watchOldest(): void {
    if (this.#watch !== undefined || this.#stalled !== undefined || this.#closed) return;
    const oldest: Unanswered | undefined = this.#unanswered.values().next().value;
    // None, or sent in this turn: #startClocks watches it once the turn is over.
    if (oldest?.since === undefined) return;
    const due = Math.max(0, oldest.since + this.#options.failFastAfterMs - performance.now());
    this.#watch = setTimeout(() => {
      setImmediate(() => {
        this.#watch = undefined;
        if (this.#closed) return;
        if (this.#unanswered.has(oldest)) this.#open(oldest);
        else this.#watchOldest();
      });
    }, due);
    this.#watch.unref?.();
  }

  /**
   * Opens the breaker on `command`. If it is still open `reconnectAfterMs` later
   * (judged after the I/O waiting to be read, as above), Redis is not going to
   * answer on this connection — the path may have lost the reply, or the
   * server is wedged — while TCP keeps it up: the store drops the connection
   * it owns, which rejects the commands unanswered on it (and so closes the
   * breaker), and connects anew.
   */
  #open(command: Unanswered): void {
    this.#stalled = command;
    const reconnect = this.#options.reconnect;
    if (reconnect === undefined) return;
    const { failFastAfterMs, reconnectAfterMs } = this.#options;
    this.#reconnect = setTimeout(() => {
      setImmediate(() => {
        if (this.#closed || this.#stalled !== command) return;
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

// Single-message sends (OTPs, alerts) coalesced into few produce requests. The gateway's
// producer is idempotent with one request in flight, so a produce request per HTTP request
// made concurrent requests queue behind each other. Here a send waits a few milliseconds
// (or until enough have gathered) and goes out with the others; while a batch is in
// flight, new sends gather for the next one, so batches grow with the load. Each send
// resolves only once Kafka acknowledged its record (acks from every in-sync replica).
import type { Message } from 'kafkajs';
import { IngestError } from './errors.ts';
import type { RecordProducer } from './producer.ts';

export interface CoalescingOptions {
  /** How long the first send of a batch waits for company (ms). */
  lingerMs: number;
  /** A batch goes out at once when this many sends are waiting. */
  maxMessages: number;
}

export const DEFAULT_COALESCING: CoalescingOptions = { lingerMs: 3, maxMessages: 500 };

interface Waiting {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: IngestError) => void;
}

export class SendCoalescer {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending = false;

  constructor(
    private readonly producer: RecordProducer,
    private readonly opts: CoalescingOptions = DEFAULT_COALESCING,
  ) {}

  /**
   * Resolves once Kafka acknowledged `message` on `topic`; rejects with `kafka-unavailable`
   * when the produce request carrying it failed (and so did every send in that request).
   */
  send(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ topic, message, resolve, reject });
      // While a batch is in flight this one gathers for the next, sent when that one is answered.
      if (this.sending) return;
      if (this.waiting.length >= this.opts.maxMessages) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.opts.maxMessages);
    const byTopic = new Map<string, Waiting[]>();
    for (const w of batch) {
      const list = byTopic.get(w.topic);
      if (list) list.push(w);
      else byTopic.set(w.topic, [w]);
    }
    this.sending = true;
    // One produce request per topic (one topic in the common case); a failure fails its own sends only.
    void Promise.all(
      [...byTopic].map(([topic, sends]) =>
        this.producer.send({ topic, acks: -1, messages: sends.map((w) => w.message) }).then(
          () => sends.forEach((w) => w.resolve()),
          (err: unknown) => {
            // kafkajs errors name brokers and topics, never record contents; keep the class only.
            const failure = new IngestError(
              'kafka-unavailable',
              `Kafka did not acknowledge the message (${err instanceof Error ? err.name : 'error'}; ` +
                `all ${sends.length} messages of its produce request failed)`,
            );
            sends.forEach((w) => w.reject(failure));
          },
        ),
      ),
    ).finally(() => {
      this.sending = false;
      // Whatever gathered meanwhile has waited a round trip already: send it now.
      if (this.waiting.length > 0) this.flush();
    });
  }
}

const coalescers = new WeakMap<RecordProducer, SendCoalescer>();

/** The coalescer of a producer: every single-message send through one producer shares it. */
export function coalescerFor(producer: RecordProducer): SendCoalescer {
  let c = coalescers.get(producer);
  if (!c) coalescers.set(producer, (c = new SendCoalescer(producer)));
  return c;
}

// Sealed records to Kafka in batches, acks from every in-sync replica, with a bounded number
// of batches in flight: when Kafka is slower than the file, `add` waits, the reader stops
// pulling, and TCP pushes back on the uploader. Memory stays at a few batches whatever the file.
// Each batch is one `send` span; its records carry that span's traceparent.
import type { Message, Producer } from 'kafkajs';
import { IngestError } from './errors.ts';
import { traceSend } from './telemetry.ts';

export type RecordProducer = Pick<Producer, 'send'>;

export class RecordBatcher {
  /** Records Kafka has acknowledged. */
  produced = 0;
  private pending: Message[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: IngestError | undefined;

  constructor(
    private readonly producer: RecordProducer,
    private readonly topic: string,
    private readonly batchRecords: number,
    private readonly maxInFlight: number,
  ) {}

  async add(message: Message): Promise<void> {
    this.throwIfFailed();
    this.pending.push(message);
    if (this.pending.length >= this.batchRecords) await this.dispatch();
  }

  /** Sends what is pending and waits for every acknowledgement; throws if any batch failed. */
  async flush(): Promise<void> {
    if (!this.failure && this.pending.length) await this.dispatch();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for batches already sent, dropping what was not (after a failure of the upload itself). */
  async settle(): Promise<number> {
    const dropped = this.pending.length;
    this.pending = [];
    await Promise.all(this.inFlight);
    return dropped;
  }

  private async dispatch(): Promise<void> {
    const messages = this.pending;
    this.pending = [];
    const sent: Promise<void> = traceSend(this.topic, messages, () =>
      this.producer.send({ topic: this.topic, messages, acks: -1 }),
    )
      .then(
        () => {
          this.produced += messages.length;
        },
        (err: unknown) => {
          // kafkajs errors name brokers and topics, never record contents; keep the class only.
          const kind = err instanceof Error ? err.name : 'error';
          this.failure ??= new IngestError('kafka-unavailable', `Kafka did not acknowledge a batch (${kind})`);
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

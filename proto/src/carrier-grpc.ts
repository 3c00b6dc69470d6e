// The CarrierGateway gRPC service for @grpc/grpc-js, built from the generated static
// codecs so no .proto parsing (proto-loader) happens at runtime.
import * as grpc from '@grpc/grpc-js';
import { anshim } from '../generated/anshim.js';

const v1 = anshim.carrier.v1;
type ISubmitRequest = anshim.carrier.v1.ISubmitRequest;
type SubmitRequest = anshim.carrier.v1.SubmitRequest;
type ISubmitResponse = anshim.carrier.v1.ISubmitResponse;
type SubmitResponse = anshim.carrier.v1.SubmitResponse;
type IReportsRequest = anshim.carrier.v1.IReportsRequest;
type ReportsRequest = anshim.carrier.v1.ReportsRequest;
type IDeliveryReport = anshim.carrier.v1.IDeliveryReport;
type DeliveryReport = anshim.carrier.v1.DeliveryReport;
type IReportBatch = anshim.carrier.v1.IReportBatch;
type ReportBatch = anshim.carrier.v1.ReportBatch;
type IReportsAck = anshim.carrier.v1.IReportsAck;
type ReportsAck = anshim.carrier.v1.ReportsAck;

export const CARRIER_GATEWAY_SERVICE_NAME = 'anshim.carrier.v1.CarrierGateway';

interface Codec<I, M> {
  encode(message: I): { finish(): Uint8Array };
  decode(bytes: Uint8Array): M;
}

// protobufjs's node writer already returns a Buffer; wrap (not copy) anything else.
function serializer<I, M>(codec: Codec<I, M>): grpc.serialize<I> {
  return (message) => {
    const bytes = codec.encode(message).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<I, M>(codec: Codec<I, M>): grpc.deserialize<M> {
  return (bytes) => codec.decode(bytes);
}

/** Server-side handlers. Keys are the lower-camel method names used by the client too. */
export interface CarrierGatewayHandlers extends grpc.UntypedServiceImplementation {
  submit: grpc.handleBidiStreamingCall<SubmitRequest, ISubmitResponse>;
  reports: grpc.handleServerStreamingCall<ReportsRequest, IDeliveryReport>;
  reportBatches: grpc.handleServerStreamingCall<ReportsRequest, IReportBatch>;
  ackedReports: grpc.handleBidiStreamingCall<ReportsAck, IReportBatch>;
}

/** A server-streaming method definition from the generated codecs of its request and response. */
function serverStream<IReq, Req, IRes, Res>(name: string, request: Codec<IReq, Req>, response: Codec<IRes, Res>) {
  return {
    path: `/${CARRIER_GATEWAY_SERVICE_NAME}/${name}`,
    originalName: name,
    requestStream: false as const,
    responseStream: true as const,
    requestSerialize: serializer<IReq, Req>(request),
    requestDeserialize: deserializer<IReq, Req>(request),
    responseSerialize: serializer<IRes, Res>(response),
    responseDeserialize: deserializer<IRes, Res>(response),
  };
}

/** A bidirectional-streaming method definition, likewise. */
function bidiStream<IReq, Req, IRes, Res>(name: string, request: Codec<IReq, Req>, response: Codec<IRes, Res>) {
  return { ...serverStream(name, request, response), requestStream: true as const };
}

export const CarrierGatewayService = {
  submit: bidiStream('Submit', v1.SubmitRequest, v1.SubmitResponse),
  reports: serverStream('Reports', v1.ReportsRequest, v1.DeliveryReport),
  reportBatches: serverStream('ReportBatches', v1.ReportsRequest, v1.ReportBatch),
  ackedReports: bidiStream('AckedReports', v1.ReportsAck, v1.ReportBatch),
} as const satisfies grpc.ServiceDefinition<CarrierGatewayHandlers>;

export interface CarrierGatewayClient extends grpc.Client {
  submit(
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientDuplexStream<ISubmitRequest, SubmitResponse>;
  submit(options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<ISubmitRequest, SubmitResponse>;
  reports(
    request: IReportsRequest,
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientReadableStream<DeliveryReport>;
  reports(request: IReportsRequest, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<DeliveryReport>;
  reportBatches(
    request: IReportsRequest,
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientReadableStream<ReportBatch>;
  ackedReports(
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientDuplexStream<IReportsAck, ReportBatch>;
}

export interface CarrierGatewayClientConstructor {
  new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: Partial<grpc.ClientOptions>,
  ): CarrierGatewayClient;
  service: typeof CarrierGatewayService;
  serviceName: string;
}

export const CarrierGatewayClient = grpc.makeGenericClientConstructor(
  CarrierGatewayService,
  CARRIER_GATEWAY_SERVICE_NAME,
) as unknown as CarrierGatewayClientConstructor;

/** Registers the CarrierGateway handlers on a grpc-js server. */
export function addCarrierGatewayService(server: grpc.Server, handlers: CarrierGatewayHandlers): void {
  server.addService(CarrierGatewayService, handlers);
}

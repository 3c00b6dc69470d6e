// @anshim/proto: the wire contracts. Friendly aliases over the generated namespaces so
// callers write `CarrierMessage.encode(...)` rather than `anshim.carrier.v1.CarrierMessage`.
import { anshim } from '../generated/anshim.js';

export { anshim };
export const carrierV1 = anshim.carrier.v1;
export const recordsV1 = anshim.records.v1;

/** Bumped when a record's meaning changes in a way readers must branch on. */
export const RECORD_SCHEMA_VERSION = 1;

// Enums (value + type).
export const Channel = anshim.carrier.v1.Channel;
export type Channel = anshim.carrier.v1.Channel;
export const Priority = anshim.carrier.v1.Priority;
export type Priority = anshim.carrier.v1.Priority;
export const ResultCode = anshim.carrier.v1.ResultCode;
export type ResultCode = anshim.carrier.v1.ResultCode;
export const AckStatus = anshim.carrier.v1.Ack.Status;
export type AckStatus = anshim.carrier.v1.Ack.Status;

// Carrier gateway messages: class (codec + instance type) and plain-object interface.
export const CarrierMessage = anshim.carrier.v1.CarrierMessage;
export type CarrierMessage = anshim.carrier.v1.CarrierMessage;
export type ICarrierMessage = anshim.carrier.v1.ICarrierMessage;
export const SubmitRequest = anshim.carrier.v1.SubmitRequest;
export type SubmitRequest = anshim.carrier.v1.SubmitRequest;
export type ISubmitRequest = anshim.carrier.v1.ISubmitRequest;
export const SubmitResponse = anshim.carrier.v1.SubmitResponse;
export type SubmitResponse = anshim.carrier.v1.SubmitResponse;
export type ISubmitResponse = anshim.carrier.v1.ISubmitResponse;
export const Ack = anshim.carrier.v1.Ack;
export type Ack = anshim.carrier.v1.Ack;
export type IAck = anshim.carrier.v1.IAck;
export const ReportsRequest = anshim.carrier.v1.ReportsRequest;
export type ReportsRequest = anshim.carrier.v1.ReportsRequest;
export type IReportsRequest = anshim.carrier.v1.IReportsRequest;
export const DeliveryReport = anshim.carrier.v1.DeliveryReport;
export type DeliveryReport = anshim.carrier.v1.DeliveryReport;
export type IDeliveryReport = anshim.carrier.v1.IDeliveryReport;
export const ReportBatch = anshim.carrier.v1.ReportBatch;
export type ReportBatch = anshim.carrier.v1.ReportBatch;
export type IReportBatch = anshim.carrier.v1.IReportBatch;
export const ReportsAck = anshim.carrier.v1.ReportsAck;
export type ReportsAck = anshim.carrier.v1.ReportsAck;
export type IReportsAck = anshim.carrier.v1.IReportsAck;

// Kafka records.
export const CampaignRecord = anshim.records.v1.CampaignRecord;
export type CampaignRecord = anshim.records.v1.CampaignRecord;
export type ICampaignRecord = anshim.records.v1.ICampaignRecord;
export const RecipientPayload = anshim.records.v1.RecipientPayload;
export type RecipientPayload = anshim.records.v1.RecipientPayload;
export type IRecipientPayload = anshim.records.v1.IRecipientPayload;
export const ConsentFlags = anshim.records.v1.ConsentFlags;
export type ConsentFlags = anshim.records.v1.ConsentFlags;
export type IConsentFlags = anshim.records.v1.IConsentFlags;
export const ReportRecord = anshim.records.v1.ReportRecord;
export type ReportRecord = anshim.records.v1.ReportRecord;
export type IReportRecord = anshim.records.v1.IReportRecord;
export const ReportBatchRecord = anshim.records.v1.ReportBatchRecord;
export type ReportBatchRecord = anshim.records.v1.ReportBatchRecord;
export type IReportBatchRecord = anshim.records.v1.IReportBatchRecord;
export const ProgressRecord = anshim.records.v1.ProgressRecord;
export type ProgressRecord = anshim.records.v1.ProgressRecord;
export type IProgressRecord = anshim.records.v1.IProgressRecord;
export const DeadLetter = anshim.records.v1.DeadLetter;
export type DeadLetter = anshim.records.v1.DeadLetter;
export type IDeadLetter = anshim.records.v1.IDeadLetter;

export {
  CARRIER_GATEWAY_SERVICE_NAME,
  CarrierGatewayClient,
  CarrierGatewayService,
  addCarrierGatewayService,
} from './carrier-grpc.ts';
export type { CarrierGatewayClientConstructor, CarrierGatewayHandlers } from './carrier-grpc.ts';

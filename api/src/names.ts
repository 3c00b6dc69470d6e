// Names the API server knows Anshim by, and the labels and annotations on what the
// operator and the gateway write: one spelling for every process.

export const GROUP = 'messaging.anshim.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'messagingcampaigns';
export const FLEET_PLURAL = 'messagingfleets';
export const CAMPAIGN_KIND = 'MessagingCampaign';
export const FLEET_KIND = 'MessagingFleet';

/** On every campaign until its data is destroyed, so nothing can outlive the object. */
export const FINALIZER = 'messaging.anshim.io/destroy-data';
/** Label on everything the operator creates for a campaign (value: the campaign's name). */
export const CAMPAIGN_LABEL = 'messaging.anshim.io/campaign';
/**
 * Key of the dataset ConfigMap the gateway writes once an upload of the audience is complete
 * ('true'): the operator reads it, so the gateway never writes to a campaign object.
 */
export const DATASET_COMPLETE = 'ingestComplete';
/** Label on a dataset's ConfigMap: the purpose its data was collected for (purpose binding). */
export const PURPOSE_LABEL = 'messaging.anshim.io/purpose';

/** The ConfigMap the gateway writes per ingested dataset: its purpose and counts, no personal data. */
export const datasetConfigMapName = (dataset: string): string => `anshim-dataset-${dataset}`;
/** The Secret holding a campaign's data key, wrapped (a tombstone once destroyed). */
export const keySecretName = (campaignName: string): string => `anshim-dek-${campaignName}`;
/** `app.kubernetes.io/name` of every worker Deployment and pod: what runs pods (kubelet, the local runner) selects on. */
export const WORKER_APP = 'anshim-worker';
/** Annotation on a worker pod template: a hash of its config, so a change rolls the workers. */
export const CONFIG_HASH = 'messaging.anshim.io/config-hash';

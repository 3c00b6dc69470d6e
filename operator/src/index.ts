export * from './campaign.ts';
export * from './topics.ts';
export * from './reconciler.ts';
export * from './controller.ts';

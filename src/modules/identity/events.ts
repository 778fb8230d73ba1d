// What identity tells the others, through the outbox, in the transaction of the change.
import { eventRecorder } from '../../platform/bus/index.ts';

export interface UserRegistered {
  userId: string;
  country: string;
  createdAt: string;
}
export interface DeveloperEnrolled {
  developerId: string;
  userId: string;
  companyName: string;
}

export interface IdentityEvents {
  'user.registered': UserRegistered;
  'developer.enrolled': DeveloperEnrolled;
}

export const identityEvents = eventRecorder<IdentityEvents>();

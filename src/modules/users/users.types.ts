// The authenticated user as handlers and policies see it.
import type { Role } from '../../db/schema.js';

export interface CurrentUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  timezone: string;
  email_verified: boolean;
  is_active: boolean;
  created_at: string;
}

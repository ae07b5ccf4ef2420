#!/usr/bin/env bash
# The README's "Try it" script (kept identical to it by test/system/readme-try-it.test.ts):
# bash scripts/try-it.sh while `npm start` runs; BASE=http://host:port for another address.
set -euo pipefail

BASE=${BASE:-http://localhost:8000}       # where `npm start` listens
JAR="$(mktemp -d)/cookies.txt"           # the refresh cookie, kept outside the repository
JSON='content-type: application/json'

npx ctms seed-demo                       # the demo team and its tasks (a second run adds nothing)
curl -fsS "$BASE/health"; echo

# Log in: the access token is in the body ("access"), the refresh token in an HttpOnly cookie.
ACCESS=$(curl -fsS -c "$JAR" "$BASE/api/auth/login" -H "$JSON" \
  -d '{"username": "demo_manager", "password": "DemoManager123!"}' | jq -r .access)
curl -fsS "$BASE/api/auth/users/me" -H "authorization: Bearer $ACCESS" | jq -c '{username, role}'

# Refresh: the cookie buys a new access token (and is itself replaced).
ACCESS=$(curl -fsS -b "$JAR" -c "$JAR" -X POST "$BASE/api/auth/refresh" | jq -r .access)

# Create a task for the demo developer, due in two days.
DEV=$(curl -fsS "$BASE/api/auth/users" -H "authorization: Bearer $ACCESS" | jq '.[] | select(.username == "demo_dev") | .id')
jq -n --argjson dev "$DEV" '{title: "Try the API", priority: "high", estimated_hours: 1.5,
                             deadline: (now + 2 * 86400 | floor | todate), assigned_to: $dev}' |
  curl -fsS "$BASE/api/tasks" -H "authorization: Bearer $ACCESS" -H "$JSON" -d @- | jq -c '{id, title, assigned_to_user, deadline}'

# The developer has been notified (also live, over the WebSocket: see "Live notifications").
DEV_ACCESS=$(curl -fsS "$BASE/api/auth/login" -H "$JSON" \
  -d '{"username": "demo_dev", "password": "DemoDeveloper123!"}' | jq -r .access)
curl -fsS "$BASE/api/notifications?unread=true&limit=3" -H "authorization: Bearer $DEV_ACCESS" | jq -c '.[] | {notification_type, message}'

# Register a developer account. With the console e-mail backend (the default outside production)
# the answer carries the verification token; otherwise it arrives by e-mail.
NEW="newcomer$(date +%s)"
TOKEN=$(jq -n --arg u "$NEW" '{username: $u, email: "\($u)@example.com", password: "Newcomer-passw0rd"}' |
  curl -fsS "$BASE/api/auth/register" -H "$JSON" -d @- | jq -r .verification_token)
jq -n --arg t "$TOKEN" '{token: $t}' | curl -fsS "$BASE/api/auth/verify-email" -H "$JSON" -d @- | jq -r .message
jq -n --arg u "$NEW" '{username: $u, password: "Newcomer-passw0rd"}' |
  curl -fsS "$BASE/api/auth/login" -H "$JSON" -d @- | jq -c '{token_type, expires_in}'

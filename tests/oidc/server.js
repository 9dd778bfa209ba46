// A real OpenID provider (oidc-provider 9) for the end-to-end sign-in test.
//
//   node server.js  with env: PORT, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI, ACCOUNTS_FILE
//
// One confidential client (test-client / test-secret, code flow, PKCE required) and the accounts in
// ACCOUNTS_FILE ({"alice": {"email": ..., "name": ..., "groups": [...]}}), reread at every lookup so
// the test can change a person's groups between sign-ins. The login and consent pages are the
// package's development interactions (any password); issuer http://127.0.0.1:PORT (plain http is
// allowed because NODE_ENV is not "production").
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accountsFile = process.env.ACCOUNTS_FILE;
const readAccounts = () => JSON.parse(fs.readFileSync(accountsFile, 'utf8'));

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'test-client',
    client_secret: 'test-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ['test-only-cookie-key'] },
  async findAccount(ctx, id) {
    const account = readAccounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const current = readAccounts()[id] || account;
        return { sub: id, email: current.email, email_verified: true, name: current.name, groups: current.groups };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});

/** The app: the sign-in form until Better Auth has a session, then the user's lists and tasks. */
import { useEffect, useState } from "react";

import { api } from "./api";
import { authClient, forgetToken, whenSignedOut } from "./auth";
import { AuthForm } from "./AuthForm";
import { Workspace } from "./Workspace";

export interface User {
  email: string;
  name: string;
}

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    whenSignedOut(() => setUser(null));
    authClient
      .getSession()
      .then(({ data }) => setUser(data ? { email: data.user.email, name: data.user.name } : null))
      .catch(() => setUser(null));
  }, []);

  async function signOut() {
    await authClient.signOut();
    forgetToken();
    api.etags.clear(); // the next user must not send this one's ETags
    setUser(null);
  }

  if (user === undefined) return <p className="loading">Loading…</p>;
  if (user === null) return <AuthForm onSignedIn={setUser} />;
  return (
    <div className="app">
      <header>
        <h1>Evo-TODO</h1>
        <span className="who" data-testid="who">
          {user.email}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <Workspace />
    </div>
  );
}

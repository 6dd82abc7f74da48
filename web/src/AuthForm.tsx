/** Sign up or sign in with email and password, against Better Auth. */
import { useState, type FormEvent } from "react";

import type { User } from "./App";
import { authClient, forgetToken } from "./auth";

export function AuthForm({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [mode, setMode] = useState<"sign-in" | "sign-up">("sign-in");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result =
      mode === "sign-up"
        ? await authClient.signUp.email({ email, password, name: name || email })
        : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (result.error) {
      setError(result.error.message ?? `Better Auth answered ${result.error.status}`);
      return;
    }
    forgetToken(); // a token of whoever was signed in before is no longer ours
    onSignedIn({ email: result.data.user.email, name: result.data.user.name });
  }

  const signingUp = mode === "sign-up";
  return (
    <main className="auth">
      <h1>Evo-TODO</h1>
      <form onSubmit={(event) => void submit(event)} aria-label={signingUp ? "Sign up" : "Sign in"}>
        <h2>{signingUp ? "Create an account" : "Sign in"}</h2>
        {signingUp && (
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />
          </label>
        )}
        <label>
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
        </label>
        <label>
          Password
          <input
            type="password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={signingUp ? "new-password" : "current-password"}
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {signingUp ? "Sign up" : "Sign in"}
        </button>
        <button type="button" className="link" onClick={() => setMode(signingUp ? "sign-in" : "sign-up")}>
          {signingUp ? "I have an account: sign in" : "No account yet? Sign up"}
        </button>
      </form>
    </main>
  );
}

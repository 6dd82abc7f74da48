def test_me(alice_client, alice):
    r = alice_client.get("/api/me")
    assert r.status_code == 200, r.content
    assert r.json() == {"id": alice.better_auth_id, "email": "alice@example.com", "name": "Alice"}

def test_given_new_tenant_when_admin_calls_me_then_is_super(api, make_tenant):
    t = make_tenant()
    r = api.call("GET", "/v1/me", t["admin"])
    assert r.status_code == 200, r.data
    assert r.data["is_super"] is True

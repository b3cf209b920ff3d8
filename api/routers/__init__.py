"""HTTP routers, one module per audience: ops, driver, exam, review, adjudication, admin."""

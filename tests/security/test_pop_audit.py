"""A screen pop that shows an agent a customer outside their scope is in the audit log
(issue 9, defect 11): the bridge's pop thread hands each customer it showed to the log
thread, which writes one row per agent, customer and call, and none for a customer the
agent sees anyway."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from callcenter.audit.models import AuditEntry
from callcenter.bridge.calllog import CallLogWriter, CustomerShown


def test_pops_outside_the_scope_are_audited_once(session, make_user, make_customer,
                                                 redis_conn):
    agent = make_user("agent", scope="own", department="Service/Beijing",
                      interface="PJSIP/2001")
    owner = make_user("agent", scope="own", department="Service/Shanghai")
    hidden = make_customer(owner, "上海隐秘物流有限公司")
    own = make_customer(agent, "Own Co")
    session.flush()
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    writer = CallLogWriter(factory, redis_conn, publisher=None, region="CN",
                           timezone="Asia/Shanghai")
    writer.handle([CustomerShown(agent.id, hidden.id, "1795455872.8"),
                   CustomerShown(agent.id, hidden.id, "1795455872.8"),  # rang again
                   CustomerShown(agent.id, own.id, "1795455880.1")])
    writer.handle([CustomerShown(agent.id, hidden.id, "1795455872.8")])  # a retried batch
    rows = session.scalars(select(AuditEntry)).all()
    assert [(r.user_id, r.action, r.entity, r.entity_id, r.call_id) for r in rows] == [
        (agent.id, "customer.popped_via_call", "customer", hidden.id, "1795455872.8")]

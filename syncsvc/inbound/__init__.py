"""Inbound: changes made in a CRM flowing back into the internal tables (issue 14).

``model`` the ``inbound:`` config as typed values, ``parse`` reads it from a config document,
``check`` holds it against the CRM's field definitions and the internal table, ``events`` stores
what a CRM reported (idempotent, with the poll high-water marks), ``apply`` writes one CRM record
into the internal table under the conflict policy, ``run`` drives a connection's poll and apply,
``deletes`` polls the deletions of CRMs whose change list leaves them out.
"""

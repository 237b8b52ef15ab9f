from __future__ import annotations

from comptoir.accounts.models import Membership, User
from comptoir.accounts.rights import Right, has_right, visible_workspace_ids


def _fresh(user: User) -> User:
    # Rights are cached per user object for one request; a new object reads them again.
    return User.objects.get(pk=user.pk)


def test_roles_grant_their_default_rights(cast):
    assert has_right(cast.admin, cast.boutique, Right.MANAGE_WORKSPACE)
    assert has_right(cast.boutique_agent, cast.boutique, Right.USE_REQUEST_MESSAGES)
    assert not has_right(cast.boutique_agent, cast.boutique, Right.MANAGE_TEMPLATES)
    # No role in a workspace: no right there at all.
    assert not has_right(cast.boutique_agent, cast.assurance, Right.USE_REQUEST_MESSAGES)
    assert not has_right(cast.other_agent, cast.boutique, Right.USE_REQUEST_MESSAGES)


def test_a_right_given_to_a_profile_adds_to_its_role(cast):
    Membership.objects.filter(user=cast.boutique_agent, workspace=cast.boutique).update(
        extra_rights=[Right.MANAGE_TEMPLATES]
    )
    agent = _fresh(cast.boutique_agent)
    assert has_right(agent, cast.boutique, Right.MANAGE_TEMPLATES)
    assert not has_right(agent, cast.boutique, Right.MANAGE_WAITING_MESSAGES)


def test_editing_a_role_changes_what_its_holders_may_do(cast):
    role = Membership.objects.get(user=cast.boutique_agent, workspace=cast.boutique).role
    role.rights = [*role.rights, Right.MANAGE_AUTO_REPLIES]
    role.save()
    assert has_right(_fresh(cast.boutique_agent), cast.boutique, Right.MANAGE_AUTO_REPLIES)


def test_inactive_users_and_workspaces_grant_nothing(cast):
    cast.boutique.is_active = False
    cast.boutique.save()
    assert visible_workspace_ids(_fresh(cast.admin)) == [cast.assurance.pk]
    agent = _fresh(cast.boutique_agent)
    agent.is_active = False
    assert not has_right(agent, cast.boutique, Right.USE_REQUEST_MESSAGES)

"""Demo data: the bulk generator (for the benchmark) and the demo seed's members."""

from app.extensions import db
from app.members import national_id
from app.members.models import Membership


def test_generate_demo_members_from_the_command_line(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["members", "generate-demo", "--count", "60"])
    assert result.exit_code == 0, result.output
    assert "Added 60 demo members" in result.output
    members = db.session.scalars(db.select(Membership)).all()
    assert len(members) == 60
    numbers = [national_id.decrypt(m.national_id_encrypted) for m in members if m.national_id_hash]
    assert numbers and len(set(numbers)) == len(numbers)
    for m, number in zip([m for m in members if m.national_id_hash], numbers, strict=True):
        assert national_id.validate("IS", number) == number  # every kennitala is valid
        assert national_id.birthday_from("IS", number) == m.birthday
        assert m.national_id_masked == f"{number[:6]}-****"
    assert {m.status for m in members} <= {"active", "applied", "resigned", "rejected"}


def test_the_demo_seed_gives_members_groups_and_a_board(app, ctx):
    from app.demo import seed
    from app.members.titles import current_board

    seed(member_count=16)
    members = db.session.scalars(db.select(Membership)).all()
    assert len(members) == 16  # the staff accounts are not members
    assert {m.status for m in members} == {"active", "applied"}
    board = current_board()
    assert [t.kind for t in board][:2] == ["chair", "vice_chair"]

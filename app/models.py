"""Every domain's models, imported so that Alembic sees them all."""

from app.api.models import ApiToken, RefreshToken  # noqa: F401
from app.auth.models import RecoveryCode, SignInSession, User, UserRole  # noqa: F401
from app.auth.sign_in_models import Passkey, PasskeyChallenge, SignInIdentity  # noqa: F401
from app.checkin.models import Scan  # noqa: F401
from app.core.audit import AuditEntry  # noqa: F401
from app.core.jobs import Job  # noqa: F401
from app.core.mail import OutboxMessage  # noqa: F401
from app.core.mail_layout import MailLayout  # noqa: F401
from app.events.models import (  # noqa: F401
    Event,
    EventMessage,
    EventSlug,
    Registration,
    RegistrationTerms,
)
from app.forms.models import Answer, Form, Option, Question, Response  # noqa: F401
from app.forms.models import Participation as FormParticipation  # noqa: F401
from app.inbox.models import Conversation, ConversationMessage  # noqa: F401
from app.insights.models import PublicChart  # noqa: F401
from app.members.models import (  # noqa: F401
    Consent,
    ConsentEvent,
    Group,
    GroupMember,
    Membership,
    MembershipEvent,
    StaffNote,
    Title,
    UnionMembership,
)
from app.news.models import (  # noqa: F401
    Category,
    FrontPage,
    Page,
    PageText,
    Post,
    PostSlug,
    PostTranslation,
    Tag,
)
from app.news.newsletter_models import (  # noqa: F401
    Newsletter,
    NewsletterSubscriber,
    NewsletterText,
)
from app.polls.models import (  # noqa: F401
    Ballot,
    BallotChoice,
    Elector,
    Participation,
    Poll,
    PollOption,
    PollQuestion,
)
from app.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401

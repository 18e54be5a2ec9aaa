"""news newsletters and pages

Revision ID: b1a0c0de0006
Revises: b1a0c0de0005
Create Date: 2026-12-02 06:55:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0006'
down_revision = 'b1a0c0de0005'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('organiser', 'door', 'membership', 'admin')"
NEW_ROLES = "role IN ('organiser', 'door', 'membership', 'editor', 'admin')"

# The pages every association needs, created with their titles and an empty text for staff to
# write (frozen here: later changes to app code must not change what this migration did).
PAGE_TITLES = {
    'about': {'da': 'Om foreningen', 'en': 'About us', 'is': 'Um félagið'},
    'privacy': {'da': 'Privatlivspolitik', 'en': 'Privacy policy', 'is': 'Persónuverndarstefna'},
    'statutes': {'da': 'Vedtægter', 'en': 'Statutes', 'is': 'Lög félagsins'},
    'contact-details': {
        'da': 'Kontaktoplysninger', 'en': 'Contact details', 'is': 'Samskiptaupplýsingar'
    },
    # The front page's welcome: empty texts show the built-in welcome.
    'welcome': {'da': '', 'en': '', 'is': ''},
}


def upgrade():
    # --- N1: the editor role (news, newsletters, pages) ----------------------------------------
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_roles_known_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_roles_known_role'), NEW_ROLES)

    # --- N1: news posts, categories, tags, translations, old slugs ------------------------------
    op.create_table('news_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_news_categories_slug'))
    )
    op.create_table('news_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news_tags')),
    sa.UniqueConstraint('slug', name=op.f('uq_news_tags_slug'))
    )
    op.create_table('posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('publish_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cover_key', sa.String(length=200), nullable=True),
    sa.Column('cover_list_key', sa.String(length=200), nullable=True),
    sa.Column('cover_detail_key', sa.String(length=200), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'scheduled', 'published')", name=op.f('ck_posts_known_state')),
    sa.CheckConstraint("language IN ('da', 'en', 'is')", name=op.f('ck_posts_known_language')),
    sa.CheckConstraint("state = 'draft' OR publish_at IS NOT NULL", name=op.f('ck_posts_visible_has_time')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_posts_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posts')),
    sa.UniqueConstraint('slug', name=op.f('uq_posts_slug'))
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posts_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_posts_state_publish_at', ['state', 'publish_at'], unique=False)

    op.create_table('post_categories',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['news_categories.id'], name=op.f('fk_post_categories_category_id_news_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_categories_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'category_id', name=op.f('pk_post_categories'))
    )
    with op.batch_alter_table('post_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_categories_category_id'), ['category_id'], unique=False)

    op.create_table('post_tags',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_tags_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['news_tags.id'], name=op.f('fk_post_tags_tag_id_news_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'tag_id', name=op.f('pk_post_tags'))
    )
    with op.batch_alter_table('post_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('post_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("locale IN ('da', 'en', 'is')", name=op.f('ck_post_translations_known_locale')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_translations_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_translations')),
    sa.UniqueConstraint('post_id', 'locale', name='uq_post_translations_post_locale')
    )
    op.create_table('post_slugs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_slugs_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_slugs')),
    sa.UniqueConstraint('slug', name=op.f('uq_post_slugs_slug'))
    )
    with op.batch_alter_table('post_slugs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_slugs_post_id'), ['post_id'], unique=False)

    # --- N1: pages and the front page -----------------------------------------------------------
    pages = op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_pages_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_pages_slug'))
    )
    page_texts = op.create_table('page_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.CheckConstraint("locale IN ('da', 'en', 'is')", name=op.f('ck_page_texts_known_locale')),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_page_texts_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_texts')),
    sa.UniqueConstraint('page_id', 'locale', name='uq_page_texts_page_locale')
    )
    front_page = op.create_table('front_page_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('show_events', sa.Boolean(), nullable=False),
    sa.Column('show_news', sa.Boolean(), nullable=False),
    sa.Column('show_polls', sa.Boolean(), nullable=False),
    sa.Column('show_call_to_action', sa.Boolean(), nullable=False),
    sa.Column('events_count', sa.Integer(), nullable=False),
    sa.Column('news_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('events_count BETWEEN 1 AND 12', name=op.f('ck_front_page_settings_events_count_range')),
    sa.CheckConstraint('news_count BETWEEN 1 AND 12', name=op.f('ck_front_page_settings_news_count_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_front_page_settings'))
    )

    # Data: the pages with their titles, and the front page's settings row.
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    op.bulk_insert(pages, [
        {'id': n, 'slug': slug, 'updated_at': now} for n, slug in enumerate(PAGE_TITLES, start=1)
    ])
    op.bulk_insert(page_texts, [
        {'page_id': n, 'locale': locale, 'title': title, 'body': ''}
        for n, titles in enumerate(PAGE_TITLES.values(), start=1)
        for locale, title in titles.items()
    ])
    op.bulk_insert(front_page, [{
        'id': 1, 'show_events': True, 'show_news': True, 'show_polls': True,
        'show_call_to_action': True, 'events_count': 3, 'news_count': 3, 'updated_at': now,
    }])
    if op.get_bind().dialect.name == 'postgresql':
        # Explicit ids above: move the sequence on, so the next page gets a free id.
        op.execute("SELECT setval(pg_get_serial_sequence('pages', 'id'), (SELECT max(id) FROM pages))")
        op.execute("SELECT setval(pg_get_serial_sequence('front_page_settings', 'id'), 1)")

    # --- N2: newsletters (below this line) ------------------------------------------------------
    op.create_table('newsletter_subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('consent_text', sa.Text(), nullable=False),
    sa.Column('requested_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_subscribers')),
    sa.UniqueConstraint('email', name=op.f('uq_newsletter_subscribers_email'))
    )
    with op.batch_alter_table('newsletter_subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletter_subscribers_requested_at'), ['requested_at'], unique=False)

    op.create_table('newsletters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('audience', sa.String(length=12), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('required_notice', sa.Boolean(), nullable=False),
    sa.Column('members_only', sa.Boolean(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("audience IN ('newsletter', 'members', 'group', 'event')", name=op.f('ck_newsletters_known_audience')),
    sa.CheckConstraint("state IN ('draft', 'sending', 'sent')", name=op.f('ck_newsletters_known_state')),
    sa.CheckConstraint("language IN ('da', 'en', 'is')", name=op.f('ck_newsletters_known_language')),
    sa.ForeignKeyConstraint(['group_id'], ['member_groups.id'], name=op.f('fk_newsletters_group_id_member_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_newsletters_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_newsletters_post_id_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_newsletters_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_newsletters_sent_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters'))
    )
    with op.batch_alter_table('newsletters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletters_sent_by_id'), ['sent_by_id'], unique=False)
        batch_op.create_index('ix_newsletters_state_sent_at', ['state', 'sent_at'], unique=False)

    op.create_table('newsletter_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('newsletter_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.CheckConstraint("locale IN ('da', 'en', 'is')", name=op.f('ck_newsletter_texts_known_locale')),
    sa.ForeignKeyConstraint(['newsletter_id'], ['newsletters.id'], name=op.f('fk_newsletter_texts_newsletter_id_newsletters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_texts')),
    sa.UniqueConstraint('newsletter_id', 'locale', name='uq_newsletter_texts_newsletter_locale')
    )
    # The look of every e-mail (name, colour, logo); no row means the defaults.
    op.create_table('mail_layout_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('logo_key', sa.String(length=200), nullable=True),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(colour) = 7', name=op.f('ck_mail_layout_settings_colour_is_hex')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_layout_settings'))
    )


def downgrade():
    # --- N2: newsletters (above this line) ------------------------------------------------------
    op.drop_table('mail_layout_settings')
    op.drop_table('newsletter_texts')
    with op.batch_alter_table('newsletters', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletters_state_sent_at')
        batch_op.drop_index(batch_op.f('ix_newsletters_sent_by_id'))
        batch_op.drop_index(batch_op.f('ix_newsletters_created_by_id'))
    op.drop_table('newsletters')
    with op.batch_alter_table('newsletter_subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletter_subscribers_requested_at'))
    op.drop_table('newsletter_subscribers')

    # --- N1 -------------------------------------------------------------------------------------
    op.drop_table('front_page_settings')
    op.drop_table('page_texts')
    op.drop_table('pages')
    with op.batch_alter_table('post_slugs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_slugs_post_id'))
    op.drop_table('post_slugs')
    op.drop_table('post_translations')
    with op.batch_alter_table('post_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_tags_tag_id'))
    op.drop_table('post_tags')
    with op.batch_alter_table('post_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_categories_category_id'))
    op.drop_table('post_categories')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_state_publish_at')
        batch_op.drop_index(batch_op.f('ix_posts_author_id'))
    op.drop_table('posts')
    op.drop_table('news_tags')
    op.drop_table('news_categories')
    op.execute("DELETE FROM user_roles WHERE role = 'editor'")
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_roles_known_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_roles_known_role'), OLD_ROLES)

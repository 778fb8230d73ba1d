-- Storefronts: one per country, with its currency and Apple's numeric storefront id.
CREATE TABLE storefronts (
  country char(2) PRIMARY KEY,
  alpha3 char(3) NOT NULL UNIQUE,
  currency char(3) NOT NULL,
  apple_storefront_id int NOT NULL UNIQUE,
  name text NOT NULL
);
INSERT INTO storefronts (country, alpha3, currency, apple_storefront_id, name) VALUES
  ('US','USA','USD',143441,'United States'), ('GB','GBR','GBP',143444,'United Kingdom'),
  ('DE','DEU','EUR',143443,'Germany'),       ('FR','FRA','EUR',143442,'France'),
  ('IT','ITA','EUR',143450,'Italy'),         ('ES','ESP','EUR',143454,'Spain'),
  ('NL','NLD','EUR',143452,'Netherlands'),   ('SE','SWE','SEK',143456,'Sweden'),
  ('CH','CHE','CHF',143459,'Switzerland'),   ('CA','CAN','CAD',143455,'Canada'),
  ('AU','AUS','AUD',143460,'Australia'),     ('JP','JPN','JPY',143462,'Japan'),
  ('KR','KOR','KRW',143466,'Korea'),         ('CN','CHN','CNY',143465,'China'),
  ('IN','IND','INR',143467,'India'),         ('BR','BRA','BRL',143503,'Brazil'),
  ('MX','MEX','MXN',143468,'Mexico'),        ('PL','POL','PLN',143478,'Poland'),
  ('TR','TUR','TRY',143480,'Turkey'),        ('NO','NOR','NOK',143457,'Norway');

CREATE TABLE categories (
  slug text PRIMARY KEY,
  name text NOT NULL,
  parent_slug text REFERENCES categories(slug),
  position int NOT NULL
);
INSERT INTO categories (slug, name, parent_slug, position) VALUES
  ('books','Books',NULL,1), ('business','Business',NULL,2), ('developer-tools','Developer Tools',NULL,3),
  ('education','Education',NULL,4), ('entertainment','Entertainment',NULL,5), ('finance','Finance',NULL,6),
  ('food-drink','Food & Drink',NULL,7), ('games','Games',NULL,8), ('graphics-design','Graphics & Design',NULL,9),
  ('health-fitness','Health & Fitness',NULL,10), ('kids','Kids',NULL,11), ('lifestyle','Lifestyle',NULL,12),
  ('magazines-newspapers','Magazines & Newspapers',NULL,13), ('medical','Medical',NULL,14), ('music','Music',NULL,15),
  ('navigation','Navigation',NULL,16), ('news','News',NULL,17), ('photo-video','Photo & Video',NULL,18),
  ('productivity','Productivity',NULL,19), ('reference','Reference',NULL,20), ('shopping','Shopping',NULL,21),
  ('social-networking','Social Networking',NULL,22), ('sports','Sports',NULL,23), ('travel','Travel',NULL,24),
  ('utilities','Utilities',NULL,25), ('weather','Weather',NULL,26);
INSERT INTO categories (slug, name, parent_slug, position) VALUES
  ('games-action','Action','games',1), ('games-adventure','Adventure','games',2), ('games-arcade','Arcade','games',3),
  ('games-board','Board','games',4), ('games-card','Card','games',5), ('games-casino','Casino','games',6),
  ('games-casual','Casual','games',7), ('games-family','Family','games',8), ('games-music','Music','games',9),
  ('games-puzzle','Puzzle','games',10), ('games-racing','Racing','games',11), ('games-role-playing','Role Playing','games',12),
  ('games-simulation','Simulation','games',13), ('games-sports','Sports','games',14), ('games-strategy','Strategy','games',15),
  ('games-trivia','Trivia','games',16), ('games-word','Word','games',17),
  ('kids-5-under','Ages 5 & Under','kids',1), ('kids-6-8','Ages 6-8','kids',2), ('kids-9-11','Ages 9-11','kids',3),
  ('magazines-news-politics','News & Politics','magazines-newspapers',1), ('magazines-sports','Sports & Leisure','magazines-newspapers',2),
  ('magazines-tech','Computers & Internet','magazines-newspapers',3), ('magazines-lifestyle','Home & Garden','magazines-newspapers',4);

CREATE TABLE apps (
  id uuid PRIMARY KEY,
  developer_id uuid NOT NULL REFERENCES developers(id),
  bundle_id text NOT NULL UNIQUE,
  name text NOT NULL,
  subtitle text,
  description text NOT NULL DEFAULT '',
  keywords text[] NOT NULL DEFAULT '{}',
  category text NOT NULL REFERENCES categories(slug),
  subcategory text REFERENCES categories(slug),
  age_rating text NOT NULL DEFAULT '4+' CHECK (age_rating IN ('4+', '9+', '13+', '16+', '18+')),
  is_free boolean NOT NULL DEFAULT true,
  status text NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'in_review', 'approved', 'rejected', 'published', 'removed')),
  review_note text,                         -- the admin's reason on rejection
  revision int NOT NULL DEFAULT 1,          -- optimistic concurrency: ETag / If-Match
  current_version text,                     -- latest published version string
  -- aggregates kept by other modules (reviews, commerce); catalog only reads and sorts by them
  rating_count int NOT NULL DEFAULT 0,
  rating_average double precision NOT NULL DEFAULT 0,
  download_count bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX apps_developer ON apps (developer_id, created_at DESC);
-- Public browse: each sort has its own index over published apps, so a page is an index range scan.
CREATE INDEX apps_browse_newest ON apps (category, published_at DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_popular ON apps (category, download_count DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_rating ON apps (category, rating_average DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_name ON apps (category, name, id) WHERE status = 'published';
CREATE INDEX apps_browse_sub_newest ON apps (subcategory, published_at DESC, id) WHERE status = 'published';

CREATE TABLE app_versions (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id),
  version text NOT NULL,                    -- dotted numeric, e.g. 2.10.1
  release_notes text NOT NULL DEFAULT '',
  min_os_version text NOT NULL,
  permissions text[] NOT NULL DEFAULT '{}', -- capabilities declared; diffed against the previous version for reviewers
  binary_sha256 text,
  binary_size bigint,
  status text NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'in_review', 'approved', 'rejected', 'published')),
  review_note text,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  UNIQUE (app_id, version)
);
CREATE INDEX app_versions_app ON app_versions (app_id, created_at DESC);

CREATE TABLE app_media (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id),
  kind text NOT NULL CHECK (kind IN ('icon', 'screenshot')),
  device_type text CHECK (device_type IN ('iphone', 'ipad', 'mac', 'tv', 'watch', 'vision')),
  position int NOT NULL DEFAULT 0,
  sha256 text NOT NULL,
  size_bytes int NOT NULL,
  content_type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'icon') = (device_type IS NULL))
);
CREATE UNIQUE INDEX app_media_one_icon ON app_media (app_id) WHERE kind = 'icon';
CREATE INDEX app_media_app ON app_media (app_id, kind, device_type, position);

-- Price of a paid app in one storefront: integer milliunits of that storefront's currency (990 = 0.99).
CREATE TABLE app_prices (
  app_id uuid NOT NULL REFERENCES apps(id),
  country char(2) NOT NULL REFERENCES storefronts(country),
  tier int,
  amount_milli bigint NOT NULL CHECK (amount_milli >= 0),
  currency char(3) NOT NULL,
  PRIMARY KEY (app_id, country)
);

CREATE TABLE in_app_products (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id),
  product_id text NOT NULL,                 -- the developer's id, e.g. com.example.app.gems100
  reference_name text NOT NULL,
  type text NOT NULL CHECK (type IN ('consumable', 'non_consumable', 'auto_renewable', 'non_renewing')),
  subscription_period text CHECK (subscription_period IN ('P1W', 'P1M', 'P2M', 'P3M', 'P6M', 'P1Y')),
  subscription_group text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, product_id),
  CHECK ((type = 'auto_renewable') = (subscription_period IS NOT NULL AND subscription_group IS NOT NULL))
);

CREATE TABLE in_app_prices (
  product_id uuid NOT NULL REFERENCES in_app_products(id),
  country char(2) NOT NULL REFERENCES storefronts(country),
  tier int,
  amount_milli bigint NOT NULL CHECK (amount_milli >= 0),
  currency char(3) NOT NULL,
  PRIMARY KEY (product_id, country)
);

// What apps in each category talk about: words for names, subtitles, descriptions and keywords,
// how common the category is, and which capabilities its apps tend to ask for.

export interface Theme {
  /** Relative share of the catalog (games are by far the largest category, as on real stores). */
  weight: number;
  /** Topic nouns: descriptions, keywords, subtitles. */
  nouns: string[];
  /** What the apps let you do. */
  verbs: string[];
  /** Title-case words that appear in app names ("Budget Buddy", "Pixel Forge"). */
  names: string[];
  permissions: string[];
  /** Weighted subcategories (children in the categories table); none = the category has no children. */
  subcategories?: Record<string, { weight: number; nouns: string[]; names: string[] }>;
}

const w = (s: string) => s.trim().split(/\s+/);

export const THEMES: Record<string, Theme> = {
  books: {
    weight: 2.2,
    nouns: w(
      'book books reading novel novels ebook audiobook chapter library author story stories poetry comics manga bookmark shelf page pages series fiction classics narrator',
    ),
    verbs: w('read listen discover borrow highlight annotate collect finish'),
    names: w('Reader Shelf Chapter Page Story Novel Library Book Tale Audible Verse Ink Bookmark'),
    permissions: w('notifications network'),
  },
  business: {
    weight: 9,
    nouns: w(
      'invoice invoices meeting meetings client clients team teams project projects contract payroll crm lead leads sales report reports receipt expense document documents signature workflow employee shift schedule office',
    ),
    verbs: w('manage track sign scan schedule invoice collaborate approve automate'),
    names: w('Desk Office Invoice Deal Pipeline Ledger Team Shift Meeting Sign Docs Work Hub Suite Flow Pro'),
    permissions: w('camera contacts calendar notifications network files'),
  },
  'developer-tools': {
    weight: 0.6,
    nouns: w('code terminal git repository server api json regex snippet debugger console ssh script build commit branch editor syntax shell http'),
    verbs: w('debug deploy monitor inspect test compile format connect'),
    names: w('Code Terminal Shell Git Script Debug Regex Server Stack Byte Kernel Dev Console'),
    permissions: w('network files local-network'),
  },
  education: {
    weight: 8.5,
    nouns: w(
      'lesson lessons course courses quiz quizzes language languages vocabulary grammar math algebra science history flashcards exam exams student students teacher homework spelling alphabet geography physics chemistry',
    ),
    verbs: w('learn study practise memorize master review teach improve'),
    names: w('Learn Study Quiz Tutor Academy Class Lesson Flash Brain Genius Scholar Mentor Campus Lingo'),
    permissions: w('microphone notifications network'),
  },
  entertainment: {
    weight: 6,
    nouns: w(
      'video videos movie movies show shows stream streaming episode episodes trailer tickets celebrity fun jokes memes wallpaper ringtone ringtones soundboard cinema',
    ),
    verbs: w('watch stream enjoy laugh share discover binge'),
    names: w('Flix Stream Show Cinema Fun Joke Meme Star Scene Reel Tube Party Buzz'),
    permissions: w('notifications network photos'),
  },
  finance: {
    weight: 3.2,
    nouns: w(
      'budget budgets money expense expenses spending savings bank banking account accounts bill bills stock stocks crypto wallet tax taxes loan invest investing portfolio transfer payment payments credit debt',
    ),
    verbs: w('budget save invest track transfer pay split grow'),
    names: w('Budget Money Coin Cash Wallet Ledger Penny Buck Vault Wealth Pocket Fund Spend Invest Bank'),
    permissions: w('camera face-id notifications network location'),
  },
  'food-drink': {
    weight: 3.8,
    nouns: w(
      'recipe recipes cooking meal meals dinner lunch breakfast restaurant restaurants delivery grocery groceries coffee wine cocktail baking diet menu kitchen ingredients vegan',
    ),
    verbs: w('cook order bake plan discover taste reserve'),
    names: w('Recipe Chef Kitchen Meal Bite Taste Dish Spoon Fork Grill Bake Brew Menu Feast Snack'),
    permissions: w('location notifications camera network'),
  },
  games: {
    weight: 22,
    nouns: w(
      'game games level levels player players puzzle puzzles battle battles hero heroes quest quests world worlds coins boss bosses multiplayer challenge challenges tournament leaderboard',
    ),
    verbs: w('play battle build explore collect solve race conquer survive'),
    names: w('Quest Legends Clash Saga Heroes Blast Rush Kingdom Empire Tales Arena Dash Craft Wars Mania Run'),
    permissions: w('game-center notifications network'),
    subcategories: {
      'games-action': {
        weight: 10,
        nouns: w('shooter combat ninja zombie zombies sword gun arena'),
        names: w('Strike Shadow Fury Ninja Zombie Shooter Blade'),
      },
      'games-adventure': {
        weight: 7,
        nouns: w('adventure island treasure mystery escape dungeon map'),
        names: w('Odyssey Voyage Escape Mystery Treasure Island Realm'),
      },
      'games-arcade': { weight: 9, nouns: w('arcade retro pixel jump runner flappy highscore'), names: w('Pixel Retro Jump Flappy Neon Arcade Bounce') },
      'games-board': { weight: 3, nouns: w('chess checkers board dice backgammon ludo go'), names: w('Chess Checkers Ludo Dice Board Gammon') },
      'games-card': { weight: 4, nouns: w('card cards solitaire poker deck klondike spider'), names: w('Solitaire Poker Deck Spades Hearts Rummy') },
      'games-casino': { weight: 4, nouns: w('casino slots jackpot roulette blackjack vegas chips'), names: w('Slots Jackpot Vegas Casino Roulette Spin') },
      'games-casual': { weight: 16, nouns: w('casual match merge idle tap relaxing cute pets'), names: w('Merge Match Idle Tap Candy Bubble Pop') },
      'games-family': { weight: 4, nouns: w('family party friends kids coloring pets farm'), names: w('Family Party Farm Pets Buddies Town') },
      'games-music': { weight: 2, nouns: w('rhythm beat piano tiles songs dance drum'), names: w('Beat Rhythm Tiles Piano Dance Drum') },
      'games-puzzle': {
        weight: 14,
        nouns: w('puzzle sudoku crossword logic blocks jigsaw brain riddles'),
        names: w('Sudoku Blocks Logic Jigsaw Brain Riddle Maze'),
      },
      'games-racing': { weight: 4, nouns: w('racing cars drift speed track motorbike rally'), names: w('Racer Drift Speed Turbo Rally Nitro Moto') },
      'games-role-playing': {
        weight: 6,
        nouns: w('rpg dragon dragons magic guild fantasy loot'),
        names: w('Dragon Realm Guild Legends Fantasy Chronicles Rune'),
      },
      'games-simulation': { weight: 6, nouns: w('simulator city tycoon farm life flight builder'), names: w('Tycoon Simulator City Farm Life Sim') },
      'games-sports': { weight: 4, nouns: w('soccer football basketball golf tennis league stadium'), names: w('Soccer Golf Hoops Tennis League Striker') },
      'games-strategy': { weight: 6, nouns: w('strategy empire army tower defense kingdom war'), names: w('Empire Tower Defense Kingdom Throne Tactics') },
      'games-trivia': { weight: 3, nouns: w('trivia questions answers quiz knowledge facts'), names: w('Trivia Quiz Brainy Facts Genius Answers') },
      'games-word': { weight: 4, nouns: w('word words letters crossword anagram spelling'), names: w('Word Letters Anagram Wordle Scrabble Spell') },
    },
  },
  'graphics-design': {
    weight: 1.6,
    nouns: w('design drawing sketch sketches canvas brush brushes logo font fonts vector illustration color colors palette layout poster'),
    verbs: w('draw sketch design paint create edit illustrate'),
    names: w('Sketch Canvas Draw Brush Design Vector Pixel Palette Ink Studio Art Logo'),
    permissions: w('photos files'),
  },
  'health-fitness': {
    weight: 5.5,
    nouns: w(
      'workout workouts fitness training steps running yoga meditation sleep calories weight diet water habit habits heart exercise exercises gym cycling stretching',
    ),
    verbs: w('train run track meditate sleep stretch breathe lose'),
    names: w('Fit Workout Yoga Run Step Calm Sleep Pulse Gym Habit Body Zen Active Coach Strong'),
    permissions: w('health motion location notifications bluetooth'),
  },
  kids: {
    weight: 1.5,
    nouns: w('kids children toddler toddlers preschool abc numbers coloring animals stories songs learning shapes'),
    verbs: w('learn play color count sing explore'),
    names: w('Kids Tiny Little ABC Baby Toddler Buddy Bear Bunny Jungle'),
    permissions: w('microphone'),
    subcategories: {
      'kids-5-under': { weight: 5, nouns: w('baby toddler colors shapes lullaby'), names: w('Baby Toddler Tiny Peekaboo') },
      'kids-6-8': { weight: 4, nouns: w('reading math spelling phonics'), names: w('Phonics Reading Math Spelling') },
      'kids-9-11': { weight: 3, nouns: w('coding science puzzles geography'), names: w('Coding Science Explorer Junior') },
    },
  },
  lifestyle: {
    weight: 8,
    nouns: w('home style fashion dating horoscope astrology wedding pets dog plants garden decor beauty quotes journal diary inspiration hobby'),
    verbs: w('discover plan style decorate match inspire'),
    names: w('Home Style Love Match Zodiac Garden Pet Bloom Nest Decor Glow Mood Vibe'),
    permissions: w('location photos camera notifications'),
  },
  'magazines-newspapers': {
    weight: 0.6,
    nouns: w('magazine magazines issue issues newspaper articles edition journalism subscription'),
    verbs: w('read subscribe browse'),
    names: w('Magazine Daily Weekly Times Gazette Journal Digest Herald'),
    permissions: w('notifications network'),
    subcategories: {
      'magazines-news-politics': { weight: 3, nouns: w('politics election policy opinion'), names: w('Politics Tribune Observer') },
      'magazines-sports': { weight: 2, nouns: w('sports outdoors fishing sailing'), names: w('Outdoors Angler Sailing') },
      'magazines-tech': { weight: 2, nouns: w('technology gadgets computers internet'), names: w('Tech Gadget Wired Byte') },
      'magazines-lifestyle': { weight: 2, nouns: w('home garden interiors cooking'), names: w('Interiors Garden Home') },
    },
  },
  medical: {
    weight: 2,
    nouns: w(
      'doctor doctors patient patients symptoms medication medications pharmacy pill pills appointment clinic hospital diagnosis nurse blood pressure glucose therapy',
    ),
    verbs: w('monitor remind consult book track check'),
    names: w('Med Doctor Clinic Pill Care Health Dose Nurse Pharmacy Vital Rx'),
    permissions: w('health notifications camera bluetooth'),
  },
  music: {
    weight: 2.6,
    nouns: w('music song songs playlist playlists radio podcast podcasts artist album albums lyrics guitar piano tuner metronome beats karaoke concert'),
    verbs: w('listen play tune record mix sing stream'),
    names: w('Tune Beat Sound Music Song Radio Chord Melody Rhythm Mix Echo Groove Vinyl'),
    permissions: w('microphone media-library bluetooth network'),
  },
  navigation: {
    weight: 1.4,
    nouns: w('map maps directions route routes traffic gps parking transit bus train compass offline speed camera trail'),
    verbs: w('navigate find park drive commute avoid'),
    names: w('Map Route Go Transit Park Compass Drive Trail Way Path Ride Metro'),
    permissions: w('location motion notifications'),
  },
  news: {
    weight: 1.6,
    nouns: w('news headlines breaking stories politics world local briefing newsletter journalism updates'),
    verbs: w('read follow stay catch'),
    names: w('News Daily Brief Headline Post Times Report Wire Digest Today'),
    permissions: w('notifications location network'),
  },
  'photo-video': {
    weight: 3.2,
    nouns: w('photo photos video videos camera filter filters editor collage selfie reels slideshow effects stickers portrait montage'),
    verbs: w('edit shoot capture share enhance retouch animate'),
    names: w('Snap Lens Shot Photo Pic Cam Filter Frame Reel Clip Edit Focus Lumo'),
    permissions: w('camera photos microphone'),
  },
  productivity: {
    weight: 5,
    nouns: w('notes note tasks task todo calendar reminders reminder checklist planner focus timer documents pdf scanner email files widgets'),
    verbs: w('organize plan focus write remember scan sync'),
    names: w('Note Task Todo Plan Focus Daily List Memo Notion Sync Doc Pad Agenda Do'),
    permissions: w('calendar notifications files reminders camera'),
  },
  reference: {
    weight: 2.1,
    nouns: w('dictionary translator translation encyclopedia bible wiki thesaurus guide facts words'),
    verbs: w('translate look define search'),
    names: w('Dictionary Translate Wiki Bible Guide Lexicon Atlas Word Facts'),
    permissions: w('microphone camera network'),
  },
  shopping: {
    weight: 3.8,
    nouns: w('shopping deals coupons discounts store stores fashion cart order orders delivery price prices marketplace wishlist sale'),
    verbs: w('shop save compare buy sell order'),
    names: w('Shop Deal Cart Coupon Buy Sale Market Bazaar Mall Outlet Store Basket'),
    permissions: w('location notifications camera'),
  },
  'social-networking': {
    weight: 2.6,
    nouns: w('friends chat messages messaging community communities group groups profile followers posts stories dating video calls'),
    verbs: w('chat connect meet share follow post message'),
    names: w('Chat Social Friend Connect Meet Circle Talk Tribe Buzz Gram Link Vibe Tik'),
    permissions: w('camera microphone contacts photos location notifications'),
  },
  sports: {
    weight: 2.2,
    nouns: w('scores score football soccer basketball baseball golf tennis league leagues match matches fantasy teams stats highlights fixtures'),
    verbs: w('follow score watch predict'),
    names: w('Score Sports League Goal Match Fan Pitch Court Tee Stats Live'),
    permissions: w('notifications location network'),
  },
  travel: {
    weight: 3,
    nouns: w('travel trip trips flights flight hotels hotel booking vacation itinerary passport luggage airport guide maps currency'),
    verbs: w('book explore travel plan discover pack'),
    names: w('Trip Travel Jet Fly Voyage Roam Hotel Nomad Journey Passport Wander Atlas'),
    permissions: w('location notifications camera'),
  },
  utilities: {
    weight: 7,
    nouns: w('calculator flashlight battery vpn wifi qr scanner cleaner storage keyboard widgets clock alarm converter password passwords backup files'),
    verbs: w('scan clean convert protect secure measure'),
    names: w('Scan Clean Calc Secure Vault Key Wifi Clock Widget Battery Tool Kit Box Lock Guard'),
    permissions: w('camera files network vpn local-network'),
  },
  weather: {
    weight: 0.7,
    nouns: w('weather forecast radar rain storm storms temperature wind snow sunshine alerts hurricane'),
    verbs: w('forecast alert check'),
    names: w('Weather Forecast Radar Sky Storm Rain Cloud Sun Climate'),
    permissions: w('location notifications'),
  },
};

/** Everyday words in rough frequency order: the head of the Zipf vocabulary. */
export const COMMON_WORDS = w(`
the and to of a you your for with in is it on that this all app can more from or be as are by new at get
make our an one any up use time just like so how will every into free now no best easy even not what
more when out do have about them their they we which also most has keep its only over than then there
these way been while each day need want help find see take first other great simple fast just many
much right here world life people love home work better full never own through well without those
where after before between both during under again around always often really still since
`);

/** Words typical of app store copy: the body of the vocabulary. */
export const APP_WORDS = w(`
track share create organize manage discover simple fast powerful beautiful daily personal smart
friends photos notes favorite favorites easy quick private secure offline online sync cloud widget
widgets dark mode features feature update updates premium subscription trial unlimited access support
design interface experience intuitive custom customize settings profile account accounts backup
export import search browse save saved tap swipe notifications reminders progress stats statistics
history charts goals goal level tools tool built designed perfect everyone everything anywhere
anytime instantly seamlessly professional advanced beginner beginners expert experts community
millions thousands users family kids adults enjoy fun relaxing challenging addictive amazing awesome
stunning gorgeous elegant clean minimal lightweight reliable accurate real live realtime daily weekly
monthly yearly world's leading award winning trusted loved rated top popular favourite colour
colours personalise personalised optimise organise centre ipad iphone mac watch apple vision siri
shortcuts icloud sharing family privacy data collected tracking purchase purchases restore terms
conditions policy contact feedback email reviews rating ratings star stars thanks hello welcome
join start started begin free-to-play download install open launch explore journey adventure story
mode modes levels challenge challenges reward rewards bonus daily-reward unlock unlocks collect
collection themes theme style styles sounds sound music voice audio video videos picture pictures
image images camera photo gallery album file files folder folders document documents pdf text
write writing read reading list lists plan plans schedule calendar week month year today tomorrow
morning evening night minute minutes hours seconds quick-start guide guides tips tricks lessons
learn learning skills skill practice practise master improve boost increase reduce stop prevent
avoid protect safe safety health healthy happy happiness calm focus energy mind body soul heart
money budget price prices cost costs pay paid payment pricing deals offers discount discounts sale
store shop market city cities place places map maps location nearby local global international
language languages english spanish french german japanese korean chinese italian portuguese
friends-list chat message messages call calls talk connect meet social network networks post posts
follow followers like likes comment comments share-sheet link links web website browser internet
wifi bluetooth battery storage memory speed performance smooth fluid responsive accessibility
voiceover dynamic type large font fonts size sizes colorful vibrant bright soft warm cool hot cold
`);

/** Word parts for growing the vocabulary into thousands of plausible, searchable words. */
export const WORD_PARTS = {
  prefixes: w(
    're un pre over under micro multi auto hyper inter co sub super ultra omni neo trans mega meta mini pro post anti out up down cross poly mono tele',
  ),
  roots: w(`
    sync track scan form port graph note task plan chart book link snap frame shape fold spark pulse
    flow stream cast print view mark tag map path route grid block chain stack sheet page script code
    byte pixel vector tone beat chord sound light shade color paint draw sketch craft build forge
    shift step pace move drive ride sail fly walk run jump dash rush bloom grow seed root leaf tree
    stone brick tile wave tide storm cloud rain snow frost heat fire spark flame glow shine star moon
    sun sky orbit planet rocket comet nova quest saga lore myth hero guard shield sword arrow bolt
    spell rune charm gem coin cash fund bank vault lock key gate door room house home nest hive swarm
    flock pack herd team crew guild clan tribe club band squad match mix blend brew cook bake grill
    taste spice salt sugar dough bread cream fruit berry melon lemon mint leaf herb plant garden field
    farm ranch harbor port dock bay coast shore cliff peak ridge valley river lake pond spring stream
    read write speak talk chat call ping post mail send share feed cast gram vibe mood mind dream
    sleep rest calm zen breath yoga fit gym lift train coach score goal play game level
  `),
  suffixes: w('er ers ing able ly ify ness ion ist ism ive ize ized ment ful less ology ware let kit io ity ure ance ary ory ish scape verse hub box pad lab'),
};

export const FIRST_NAMES = w(`
Emma Olivia Ava Sophia Isabella Mia Amelia Harper Evelyn Abigail Emily Ella Elizabeth Camila Luna
Sofia Avery Mila Aria Scarlett Penelope Layla Chloe Victoria Madison Eleanor Grace Nora Riley Zoey
Liam Noah Oliver Elijah William James Benjamin Lucas Henry Alexander Mason Michael Ethan Daniel Jacob
Logan Jackson Levi Sebastian Mateo Jack Owen Theodore Aiden Samuel Joseph John David Wyatt Matthew
Hiroshi Yuki Haruto Sakura Min-jun Seo-yeon Wei Li Mei Arjun Priya Aarav Ananya Mohammed Fatima Omar
Leila Lukas Anna Jonas Lea Felix Hannah Lars Ingrid Sven Astrid Pierre Camille Louis Chloé Giulia
Marco Lorenzo Sofía Diego Lucía Mateus Ana João Beatriz Carlos María José Zofia Jakub Mehmet Elif
`);

export const LAST_NAMES = w(`
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Tanaka Suzuki Sato Watanabe Kim Park Choi
Chen Wang Zhang Liu Patel Sharma Singh Kumar Müller Schmidt Schneider Fischer Weber Dubois Martin
Bernard Rossi Russo Ferrari Silva Santos Oliveira Kowalski Nowak Yılmaz Kaya Andersson Johansson
Nilsen Hansen Jensen Novak Horvat Ivanova Petrov
`);

/** A handful of accented words: real catalogs are not ASCII-only and search must fold them. */
export const ACCENTED_WORDS = w('Café Crème Señor Über Naïve Fiancé Jalapeño Smörgås Zürich Résumé Piñata Déjà Brûlée Açaí Façade');

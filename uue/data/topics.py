"""Hand-written interest lexicon of the synthetic dataset: 50 domains x 5 facets = 250 topics.

Format of ``DOMAINS`` (parsed by ``uue.data.synthetic.parse_domains``), one block per domain:

    ## key | domain statement; domain statement | age activity openness
    nouns: distinctive things people in this domain write about, comma separated
    lines: domain-specific sentences; separated by semicolons
    - facet statement: facet nouns, comma separated

A topic is one facet of a domain; its true statements are the domain statements plus
the facet statement. The three numbers are the mean ``age``, ``activity_level`` and
``openness`` of people with that interest (the synthetic traits are derived from them).
Vocabulary sharing a word stem with a topic's statements is dropped automatically for
that topic, so chunks never contain the statement words (see ``synthetic.stem``).
"""

DOMAINS = """
## hiking | enjoys hiking; spends a lot of time outdoors | 38 0.80 0.60
nouns: trailhead, switchbacks, summit, trekking poles, ridge line, topo map, blister kit, false summit, water filter, scree field, alpine lake, gaiters
lines: made it to the top after six hours, legs are jelly; the view from the ridge was worth every blister; anyone know a good trail near the lake with fewer crowds
- goes on multi-day backpacking trips: bear canister, ultralight tent, resupply box, base weight
- climbs mountains in winter: crampons, ice axe, avalanche beacon, whiteout
- walks with a local rambling club: group walk, stile, footpath map, thermos
- is planning a thru-hike: permit lottery, trail angel, zero day, resupply town
- takes their kids on nature walks: toddler carrier, junior ranger badge, snack stops, creek stomping

## baking | loves baking | 41 0.40 0.55
nouns: sourdough starter, crumb shot, proofing basket, stand mixer, laminated dough, oven spring, bench scraper, buttercream, pie crust, banneton
lines: my loaf finally got a proper ear this morning; the crumb on this batch is so open I could cry; why does my custard always split at the last minute
- makes sourdough bread: levain, autolyse, scoring blade, hydration percentage
- decorates cakes: fondant, piping tips, crumb coat, tiered sponge
- runs a small home bakery: farmers market stall, cottage food license, preorder list, cake boxes
- experiments with gluten-free recipes: xanthan gum, almond flour, psyllium husk, rice flour blend
- makes pastry from scratch: croissant lamination, choux paste, puff layers, pastry cream

## chess | plays chess | 34 0.20 0.50
nouns: opening repertoire, endgame, rook lift, blitz game, rating points, zugzwang, knight fork, time scramble, grandmaster game, pawn structure
lines: blundered a queen in a winning position again; finally broke 1600 online after months stuck; that sacrifice on move 23 still haunts me
- plays in over-the-board tournaments: round robin, scoresheet, tiebreaks, arbiter
- studies openings obsessively: sicilian najdorf, opening prep, theory files, gambit lines
- plays bullet online: premoves, one minute games, flag wins, mouse slip
- solves puzzles every day: tactics trainer, puzzle streak, mate in three, pin motif
- coaches a junior team: scholastic league, kids club, simul, training sessions

## crypto | invests in cryptocurrency | 29 0.30 0.70
nouns: bitcoin, altcoins, cold wallet, seed phrase, gas fees, staking rewards, bull run, token unlock, exchange listing, halving
lines: bought the dip and it dipped some more; moved everything to a hardware wallet after that exchange scare; gas fees are absurd this week
- trades altcoins daily: leverage, stop loss, pump, chart patterns
- mines cryptocurrency at home: mining rig, hashrate, GPU fans, electricity bill
- collects NFTs: mint date, floor price, jpegs, discord alpha
- builds on Ethereum: smart contract, solidity, testnet, audit report
- holds bitcoin long term: sats, stacking, self custody, four year cycle

## gardening | enjoys gardening | 52 0.55 0.50
nouns: raised beds, compost heap, seedlings, mulch, tomato cages, potting soil, aphids, perennials, pruning shears, rain barrel
lines: first ripe tomato of the season, ate it standing in the dirt; slugs got every single lettuce overnight; the dahlias are finally putting on a show
- grows vegetables: zucchini glut, seed potatoes, bean poles, brassicas
- keeps houseplants: monstera, fungus gnats, grow light, repotting
- keeps bees: hive inspection, queen cell, honey super, smoker fuel
- grows roses: rose hips, blackspot, climbers, deadheading
- tends an allotment: plot rent, shed, allotment committee, water trough

## jazz | listens to jazz | 47 0.30 0.75
nouns: bebop, saxophone solo, walking bass, blue note records, vinyl pressing, trio set, standards, swing feel, improvisation, liner notes
lines: that solo on the second track gives me chills every single time; caught a late set at a tiny club and the trio was on fire; looking for vinyl pressings that actually sound good
- plays jazz piano: voicings, comping, lead sheets, ii v i
- collects jazz records: first pressings, record fairs, mono copies, dust sleeves
- goes to jazz festivals: festival lineup, day pass, open air stage, late night jam
- plays saxophone in a big band: reeds, section rehearsal, charts, horn line
- loves fusion: electric bass, odd meters, synth leads, mahavishnu

## running | runs marathons | 36 0.95 0.55
nouns: tempo run, long run, negative split, carb loading, foam roller, gel packs, race bib, taper week, splits, heart rate zones
lines: new PR this morning, shaved two minutes off; legs are toast after 32k; taper madness is real, I want to do everything
- trains for ultramarathons: vert, trail shoes, aid station, drop bag
- is chasing a Boston qualifier: BQ time, pace band, cutoff time, corral
- coaches beginner runners: couch to 5k, walk breaks, parkrun, first race
- runs every day: streak, recovery jog, easy miles, shakeout
- follows professional athletics: diamond league, world record, track finals, pacemakers

## cars | restores vintage cars | 55 0.50 0.40
nouns: carburetor, chrome bumper, rust repair, wire wheels, original paint, engine rebuild, barn find, drum brakes, points ignition, car show
lines: spent the whole weekend under the bumper, knuckles are wrecked; the carb finally idles smooth after three rebuilds; found a barn find on a farm two towns over
- rebuilds classic muscle cars: big block, posi rear, hood scoop, quarter panels
- owns an old Volkswagen Beetle: air cooled engine, heater boxes, split window, dub meet
- goes to classic car shows: concours, show trophies, field parking, polish day
- restores British sports cars: lucas electrics, wire wheels, MG roadster, oil leaks
- races vintage cars: track day, roll cage, pit lane, historic grid

## toddler | is raising a toddler | 33 0.60 0.45
nouns: nap schedule, sippy cup, tantrum, daycare pickup, potty training, teething, bedtime routine, picky eater, playdate, stroller
lines: he refused every single food except crackers today; the nap transition is destroying us; she said a new word at dinner and we all lost it
- is potty training their child: pull-ups, sticker chart, accidents, tiny toilet seat
- is a stay-at-home parent: story hour, library trips, park mornings, naptime chores
- is a single parent: custody weekends, co-parenting app, solo bedtime, support group
- has twins: double stroller, twin feeding, matching outfits, double the laundry
- is expecting another baby: second trimester, sibling prep, hospital bag, ultrasound

## nurse | works as a nurse; works night shifts | 38 0.70 0.45
nouns: twelve hour shift, charge nurse, med pass, patient handoff, scrubs, compression socks, call lights, break room, ward, triage
lines: three in a row and I can finally sleep; my feet hurt after that stretch, compression socks are a lifesaver; the patients were calm for once
- works in the emergency department: trauma bay, ER waiting room, ambulance bay, code blue
- works in intensive care: ventilator, ICU, sedation, drips
- works in pediatrics: children's ward, peds dosing, parent updates, stickers
- works in a care home: residents, dementia care, care plan, family visits
- is studying to be a nurse practitioner: clinical hours, preceptor, board exam, pharmacology

## gaming | plays video games | 24 0.20 0.60
nouns: patch notes, ranked match, loot drop, controller, speedrun, boss fight, early access, graphics card, frame rate, open world
lines: finally beat that boss after forty tries; the new patch ruined my favourite build; stayed up until 3am for one more run
- plays competitive shooters: headshots, aim trainer, ranked ladder, clutch rounds
- plays role-playing games: side quests, character build, dialogue choices, save file
- plays retro consoles: cartridges, CRT television, SNES, emulators
- plays strategy games: grand campaign, tech tree, civ, turn order
- streams on Twitch: stream overlay, chat mods, subscriber goal, webcam

## cooking | cooks at home a lot | 40 0.45 0.60
nouns: cast iron, mise en place, stock pot, knife skills, braise, spice rack, meal prep, dutch oven, pan sauce, chef knife
lines: nailed the pan sauce tonight, wife said restaurant quality; my cast iron finally has a proper seasoning; made stock from the chicken carcass and it gelled perfectly
- makes Indian food: garam masala, tadka, pressure cooker dal, fresh chapati
- smokes barbecue: brisket, bark, wood pellets, stall
- ferments food: kimchi, sauerkraut, kombucha, fermentation crock
- makes fresh pasta: semolina, pasta roller, ravioli, egg yolks
- meal preps for the week: containers, sunday prep, macros, batch chili

## cycling | is into cycling | 39 0.90 0.55
nouns: cleats, chain lube, saddle sores, climbs, bib shorts, groupset, drafting, tubeless tires, power meter, headwind
lines: sixty miles into a headwind, never again; bonked hard on the last climb; finally got my tubeless setup to stop leaking
- commutes by bike: panniers, bike lane, rain jacket, bike lock
- rides mountain bikes: singletrack, dropper post, berms, full suspension
- races road bikes: criterium, peloton, breakaway, race license
- goes bikepacking: frame bags, gravel roads, bivy, overnighter
- fixes bikes as a mechanic: bottom bracket, truing stand, derailleur, cable housing

## photo | is into photography | 37 0.50 0.75
nouns: prime lens, golden hour, shutter speed, tripod, raw files, aperture, editing presets, bokeh, light meter, camera bag
lines: woke at five for the light and it was worth it; my new 35mm lens lives on the camera now; finally calibrated my monitor and my edits look different
- shoots film: darkroom, film stock, light leaks, negatives
- photographs weddings: second shooter, bridal portraits, client gallery, shot list
- photographs wildlife: telephoto, hide, birds in flight, long lens
- does street photography: candid, crosswalk, wide angle, zone focus
- flies drones: aerial shots, drone license, gimbal, battery swaps

## knitting | knits | 50 0.25 0.55
nouns: yarn stash, cable pattern, circular needles, gauge swatch, cast on, merino, stitch markers, frogging, ribbing, blocking mats
lines: frogged the whole sleeve and started again; this merino is so soft I could sleep in it; finished my first sweater that actually fits
- crochets amigurumi: hook sizes, magic ring, safety eyes, stuffing
- spins their own yarn: drop spindle, roving, plying, spinning wheel
- makes quilts: fat quarters, quilt top, batting, binding
- sews their own clothes: sewing machine, patterns, seam allowance, overlocker
- does embroidery: hoop, floss, cross stitch, french knots

## birds | watches birds | 58 0.50 0.50
nouns: binoculars, field guide, life list, warbler, hide, migration, spotting scope, feeder, dawn chorus, rare sighting
lines: a heron landed ten feet from me this morning; finally ticked off the golden eagle; the feeder is a warzone of finches
- keeps a life list: year list, lifer, county records, checklist app
- feeds garden visitors: suet balls, nest box, seed mix, squirrel baffle
- photographs raptors: hawks, falcon nest, owl box, talons
- counts shorebirds: estuary, tide tables, waders, survey form
- travels to see rare species: twitch, vagrant, rarity alert, ferry crossing

## fishing | goes fishing | 49 0.55 0.40
nouns: tackle box, spinning reel, bait, lures, fly rod, catch and release, waders, drift, bobber, trout stream
lines: landed a seven pound bass this morning; lost the biggest one right at the net; the river was high and muddy, skunked again
- fly fishes for trout: dry flies, nymphs, tippet, fly tying vise
- fishes in the ocean: surf casting, charter boat, tuna, offshore
- ice fishes in winter: auger, ice shanty, tip ups, frozen lake
- fishes bass tournaments: bass boat, weigh in, crankbaits, livewell
- fishes from a kayak: paddle, anchor trolley, rod holders, launch ramp

## climbing | rock climbs | 30 0.90 0.70
nouns: chalk bag, belay device, crimps, overhang, grade, harness, rope, quickdraws, crag, flash
lines: sent my project after three weeks; forearms are completely pumped; the crag was packed this weekend
- boulders at the gym: crash pad, V grades, problems, top out
- climbs outdoors on sport routes: bolts, anchors, lead fall, redpoint
- does trad climbing: cams, nuts, gear placements, multi pitch
- trains on a hangboard: finger strength, edges, repeaters, pulley injury
- competes in climbing comps: qualifiers, flash points, comp season, judges

## yoga | practices yoga | 36 0.65 0.70
nouns: sun salutation, downward dog, vinyasa flow, mat, breathwork, savasana, studio class, meditation, blocks, balance poses
lines: held crow pose for five seconds today; savasana is the best part and I won't apologize; my hamstrings are slowly loosening up
- teaches classes: teacher training, class sequence, cueing, students
- does hot sessions: heated room, sweat towel, bikram, 40 degrees
- meditates every morning: mindfulness, breath counting, cushion, silent retreat
- is into acro partner work: base, flyer, spotter, partner balance
- does prenatal sessions: bump, pelvic floor, gentle flow, bolster

## lifting | lifts weights at the gym | 28 0.85 0.45
nouns: squat rack, deadlift, bench press, protein shake, progressive overload, rest days, barbell, chalk, lifting belt, personal record
lines: hit a 200kg deadlift today, absolutely buzzing; leg day tomorrow, pray for me; finally fixed my squat depth
- competes in powerlifting: meet, attempts, singlet, judges lights
- does bodybuilding: cutting, bulking, posing, macros
- does crossfit: WOD, box, burpees, kipping
- does olympic lifting: snatch, clean and jerk, bumper plates, split
- trains at home: garage setup, adjustable dumbbells, pull up bar, rubber flooring

## coffee | is a coffee enthusiast | 33 0.40 0.65
nouns: espresso shot, burr grinder, pour over, crema, light roast, tamper, milk frothing, single origin, extraction, portafilter
lines: dialed in the new beans at 18 grams in, 36 out; latte art attempt number 400, looks like a blob; this ethiopian is like drinking blueberries
- roasts their own beans: green beans, first crack, roast profile, popcorn popper
- works as a barista: morning rush, latte art, cafe regulars, tips jar
- brews with a V60: gooseneck kettle, bloom, paper filters, drawdown
- collects espresso machines: lever machine, E61 group, restoration, boiler
- visits specialty cafes when travelling: flat white, cafe hopping, tasting notes, roastery

## wine | is into wine | 46 0.35 0.65
nouns: tannins, vintage, decanter, pinot noir, cellar, terroir, sommelier, riesling, tasting notes, corkscrew
lines: opened that 2015 bottle and it was worth the wait; the finish on this one goes on forever; corked bottle again, so disappointing
- collects bottles for aging: cellar temperature, allocations, verticals, en primeur
- visits vineyards: tasting room, harvest, cellar door, barrel room
- is studying for a sommelier exam: blind tasting, WSET, service exam, flashcards
- prefers natural wine: skin contact, orange pet nat, low intervention, funky
- makes wine at home: carboy, crushed grapes, primary, sulfites

## beer | brews beer at home | 37 0.40 0.60
nouns: hops, mash tun, fermenter, yeast pitch, IPA, stout, specific gravity, kegging, wort, dry hop
lines: this batch came out cleaner than anything I have made; the airlock has been bubbling since midnight; tried a new hop schedule and it smells incredible
- brews all-grain: mash temperature, sparge, grain bill, false bottom
- collects rare beers: bottle shares, trades, barrel aged stout, taproom releases
- brews sour beers: lactobacillus, kettle sour, fruit additions, pH meter
- grows their own hops: hop bines, trellis, cones, harvest week
- visits breweries on vacation: tap list, flight, taproom, beer trail

## dev | works as a software developer | 31 0.20 0.65
nouns: pull request, code review, merge conflict, unit tests, stack trace, deployment, refactor, standup, keyboard shortcuts, debugger
lines: spent four hours on a bug that turned out to be a typo; the deploy failed on Friday evening of course; rewrote the same function three times today
- writes Rust: borrow checker, cargo, lifetimes, crates
- does frontend work: react components, css grid, bundle size, browser quirks
- is a DevOps engineer: kubernetes, pipelines, terraform, pager duty
- works in data science: notebooks, pandas, dashboards, feature engineering
- maintains open source projects: maintainers, issues, contributors, github stars

## teacher | is a teacher | 42 0.55 0.55
nouns: lesson plan, grading, classroom, parent evening, curriculum, staff room, marking, field trip, seating chart, term report
lines: thirty essays left to mark and it is Sunday night; a kid finally got fractions today and lit up; the photocopier broke during my free period again
- teaches kindergarten: circle time, phonics, crayons, tiny chairs
- teaches high school math: algebra, exam papers, calculators, quadratic equations
- teaches English as a foreign language: ESL, grammar drills, vocab games, conversation club
- is a university lecturer: seminars, office hours, research grant, tenure track
- teaches special education: IEP, support staff, sensory room, small groups

## dogs | owns a dog | 38 0.70 0.50
nouns: leash, dog park, kibble, vet visit, chew toy, recall training, walkies, treat pouch, collar, zoomies
lines: the pup stole a whole sandwich off the counter; two walks a day in the rain; finally nailed recall at the beach
- fosters rescue animals: shelter, adoption day, foster fails, intake
- does agility: weave poles, tunnel, agility course, handler
- owns a husky: shedding, blowout, sled, howling
- trains service animals: public access, task training, vest, handler cues
- has a senior pet: joint supplements, gray muzzle, slow walks, vet bills

## cats | owns a cat | 35 0.30 0.55
nouns: litter box, scratching post, hairball, cat tree, kibble, laser pointer, catnip, vet visit, whiskers, purring
lines: she knocked my mug off the table while staring at me; woke up at 4am to a hairball; he only loves me at dinner time
- fosters kittens: bottle feeding, kitten season, adoption photos, litter of four
- breeds Maine Coons: pedigree, cattery, show ring, kitten waitlist
- has an indoor-only pet: window perch, enrichment toys, catio, leash training
- has a diabetic pet: insulin, glucose curve, vet checks, special diet
- has several pets at home: multi pet, food bowls, litter trays, territory squabbles

## travel | travels a lot | 35 0.65 0.85
nouns: boarding pass, carry-on, layover, hostel, jet lag, passport stamps, travel insurance, airport lounge, itinerary, currency exchange
lines: missed my connection in Frankfurt, now sleeping at the gate; the street food in that city was unreal; packing for three weeks in one bag
- backpacks through Southeast Asia: overnight buses, islands, scooters, guesthouses
- collects airline miles: status match, lounge access, points transfer, upgrades
- works remotely while abroad: coworking space, digital nomad visa, time zones, wifi speeds
- goes on cruises: cabin, shore excursions, buffet, sea days
- travels solo: solo trips, single rooms, walking tours, meeting strangers

## frugal | budgets carefully | 34 0.40 0.40
nouns: spreadsheet, emergency fund, coupons, grocery bill, side hustle, credit score, debt snowball, meal plan, no spend month, sinking fund
lines: paid off the last credit card today, feels unreal; grocery bill down to 60 a week; cancelled three subscriptions I forgot I had
- is saving for early retirement: FIRE, index funds, savings rate, withdrawal rate
- is paying off student loans: loan servicer, refinancing, interest, payoff date
- lives minimally: decluttering, capsule wardrobe, few possessions, tiny apartment
- hunts for deals at thrift stores: secondhand finds, bargains, flipping, garage sales
- is saving to buy a house: down payment, mortgage preapproval, first home, open houses

## stocks | invests in stocks | 44 0.30 0.50
nouns: dividends, earnings call, portfolio, index fund, market cap, brokerage account, rebalancing, P/E ratio, bear market, blue chips
lines: earnings season is here and I am glued to the screen; portfolio is down 12% and I am not selling; trimmed my tech positions this week
- trades options: calls, puts, theta decay, strike price
- is a dividend growth investor: payout ratio, yield on cost, DRIP, aristocrats
- invests in real estate: rental property, tenants, cap rate, landlord duties
- does day trading: scalping, level 2, premarket, tickers
- follows value investing: intrinsic value, margin of safety, annual reports, buffett

## soccer | follows soccer | 32 0.55 0.45
nouns: match day, penalty, offside, transfer window, league table, derby, away end, season ticket, clean sheet, manager sacking
lines: last minute equaliser and the pub erupted; the ref was a joke again; transfer deadline day is my christmas
- supports a Premier League club: Anfield, premier league table, kit launch, top four
- plays five-a-side: astro turf, shin pads, weekly game, sunday league
- coaches a youth team: under twelves, drills, cones, parents on the touchline
- plays fantasy football: captain pick, wildcard, transfers, gameweek
- follows the Bundesliga: bayern, dortmund, yellow wall, winter break

## basketball | follows basketball | 27 0.60 0.45
nouns: three pointer, playoffs, rebounds, dunk, buzzer beater, trade deadline, draft pick, free throws, point guard, triple double
lines: that buzzer beater had me screaming at the TV; refs swallowed the whistle in the fourth; my team cannot hit a free throw to save their lives
- plays pickup games: rec center, shootaround, court time, ankle brace
- follows college hoops: march madness, brackets, final four, bubble teams
- collects trading cards: rookie card, graded slab, pack break, PSA
- follows the WNBA: Aces, Liberty, league pass, commissioner's cup
- coaches a school team: practice plans, timeouts, zone defense, varsity

## movies | watches a lot of movies | 33 0.25 0.75
nouns: director's cut, box office, cinematography, plot twist, trailer, film festival, criterion collection, screenplay, opening weekend, cinema seats
lines: that ending is going to live in my head for weeks; the score carried the whole thing; walked out of the cinema speechless
- loves horror films: jump scares, slashers, found footage, final girl
- collects physical media: blu-rays, steelbooks, 4k discs, boxed sets
- writes film reviews: letterboxd, star ratings, review blog, screener
- watches old Hollywood classics: black and white, technicolor, matinee idols, studio era
- makes short films: shot list, camera rig, editing timeline, short festival

## books | reads a lot of books | 45 0.20 0.75
nouns: paperback, library holds, book club, reading list, chapters, bookmark, hardcover, plot, author event, audiobook
lines: stayed up until 2am to finish it; my to-read pile is becoming a hazard; that final chapter wrecked me
- reads fantasy series: magic systems, dragons, sequels, world building
- reads crime novels: detective, whodunnit, red herrings, murder mystery
- reads classic literature: Dostoevsky, Austen, penguin classics, victorian novel
- writes a novel: manuscript, word count, query letters, literary agent
- reads romance novels: tropes, slow burn, enemies to lovers, happily ever after

## anime | watches anime | 23 0.25 0.70
nouns: episode, seasonal lineup, subs, manga volume, opening theme, studio ghibli, figures, cosplay, filler arc, light novel
lines: that episode broke me, I need a minute; caught up on the manga and the wait is painful; the opening theme has been on repeat all day
- collects figures: scale figure, preorder, display shelf, nendoroid
- does cosplay: wig styling, armour foam, convention, photoshoot
- reads manga: chapters, scanlation, tankobon, mangaka
- learns Japanese: kanji, hiragana, JLPT, flashcards
- loves mecha shows: gundam, giant robots, gunpla, pilots

## boardgames | plays board games | 34 0.30 0.65
nouns: deck builder, worker placement, meeples, expansion, game night, rulebook, dice tower, card sleeves, campaign, shelf of shame
lines: game night went until 2am again; the rulebook is longer than the game; we finally beat the campaign on hard
- plays Magic the Gathering: commander deck, booster draft, mana curve, sideboard
- paints miniatures: primer, washes, warhammer, brush control
- designs their own games: prototype, playtest, balancing, kickstarter
- plays heavy euro games: engine building, resource management, victory points, solo mode
- plays party games with friends: codenames, charades, teams, laughing fits

## woodwork | does woodworking | 51 0.55 0.50
nouns: table saw, dovetails, chisels, hand plane, wood glue, sawdust, clamps, router bit, oak boards, workbench
lines: cut my first set of hand dovetails and they are ugly but tight; the shop is covered in sawdust again; glued up a tabletop today
- turns wood on a lathe: bowl gouge, green wood, spindle, blanks
- builds furniture: dining table, mortise and tenon, drawers, finish coats
- carves spoons: sloyd knife, hook knife, green birch, whittling
- makes guitars: luthier, fretboard, bracing, nitro finish
- restores antique tools: rust removal, stanley planes, flea market tools, sharpening stones

## diy | is renovating their home | 39 0.65 0.45
nouns: drywall, tile grout, paint samples, permits, contractor quotes, demolition, subfloor, plumbing, wiring, building supply store
lines: opened the wall and found nothing behind it but regret; the contractor ghosted us again; three coats and the color is finally right
- is remodelling a kitchen: cabinets, countertops, backsplash, appliances
- is fixing up an old house: lath and plaster, knob and tube, sash windows, old beams
- is converting a loft: dormer, skylight, insulation, stair design
- installs solar panels: inverter, panels, roof mount, battery storage
- is redoing a bathroom: shower tray, waterproofing, vanity, grout lines

## vegan | eats a plant-based diet | 32 0.55 0.70
nouns: tofu scramble, lentils, nutritional yeast, oat milk, chickpeas, tempeh, seitan, cashew cream, B12, jackfruit
lines: made a lentil bolognese that fooled my dad; finally found a cheese alternative that melts; the new cafe has six dairy-free desserts
- is a vegan athlete: pea protein, recovery, endurance, iron levels
- cooks plant-based comfort food: mac and cheese, burgers, bakes, mushroom gravy
- is vegan for animal rights: sanctuary, activism, documentary, cruelty free
- is raising a vegan family: kids lunches, school meals, picky toddlers, family dinners
- is trying veganuary: first month, swaps, beginner recipes, cravings

## producer | makes music | 27 0.30 0.80
nouns: DAW, synth patch, sidechain, mixdown, sample pack, drum loop, mastering, MIDI controller, plugins, reverb tail
lines: spent six hours on one kick drum; finished a track for once instead of leaving it at 80%; the low end finally sits right
- makes techno: modular, acid line, four on the floor, warehouse
- makes hip hop beats: boom bap, chops, MPC, vinyl samples
- DJs at clubs: CDJs, set times, crowd, mixing decks
- builds modular synths: eurorack, patch cables, oscillators, modules
- scores games and films: orchestral, soundtrack, cue sheets, game score

## guitar | plays guitar | 33 0.35 0.65
nouns: fretboard, chord shapes, pedalboard, amp, strings, capo, pick, tuning, riffs, tab
lines: finally nailed the solo after three months; changed strings and it sounds brand new; my fingertips are raw from practice
- plays metal: drop tuning, high gain, breakdowns, seven string
- plays acoustic folk: fingerpicking, open tuning, campfire songs, dreadnought
- plays blues: pentatonic, bends, slide, twelve bar
- plays in a cover band: setlist, pub gigs, rehearsal room, soundcheck
- builds pedals: soldering, fuzz circuits, enclosures, true bypass

## classical | listens to classical music | 55 0.25 0.75
nouns: symphony, concerto, conductor, orchestra, opera house, string quartet, movement, recording, sonata, concert hall
lines: the slow movement left the whole hall silent; heard a new recording of the Brahms and it was revelatory; the soprano was astonishing last night
- plays violin: bow hold, rosin, scales, shoulder rest
- sings in a choir: rehearsal, tenor section, evensong, sheet music
- goes to the opera: libretto, aria, box seats, surtitles
- plays piano: scales, sight reading, grand piano, recital
- loves baroque music: harpsichord, bach, cantata, period instruments

## astronomy | is into astronomy | 41 0.35 0.80
nouns: telescope, dark skies, light pollution, eyepiece, star chart, nebula, moon phase, meteor shower, galaxies, constellation
lines: saw Saturn's rings for the first time and gasped; clouds rolled in right at the meteor peak; stayed out until 3am under dark skies
- does astrophotography: tracking mount, stacking, exposures, guide camera
- follows space launches: rocket launch, booster landing, launch window, spacex
- builds telescopes: mirror grinding, dobsonian, focuser, collimation
- chases eclipses: totality, path map, eclipse glasses, corona
- hunts for deep sky objects: messier list, globular clusters, galaxies, averted vision

## fashion | follows fashion | 28 0.45 0.80
nouns: runway, streetwear, fit check, capsule collection, sneakers, designer, tailoring, lookbook, thrift haul, outfit
lines: found a perfect vintage coat for eight dollars; the new collection is stunning; fit check before the party
- collects sneakers: drops, resale, deadstock, raffles
- shops vintage: thrift stores, secondhand, era, depop
- loves menswear: suits, tailor, selvedge denim, leather shoes
- follows haute couture: paris week, ateliers, gowns, couture houses
- designs their own clothes: sketches, fabric swatches, sewing patterns, mood board

## skincare | is into skincare | 30 0.40 0.60
nouns: serum, sunscreen, retinol, moisturizer, cleanser, toner, routine, breakouts, SPF, hyaluronic acid
lines: my skin has never looked better; purged for two weeks on the new acid; sunscreen every day, no excuses
- does makeup looks: eyeliner, foundation shade, palette, contour
- uses Korean beauty products: essence, sheet masks, double cleansing, ampoule
- manages acne: benzoyl peroxide, dermatologist, spot treatment, pimple patches
- prefers natural cosmetics: oils, clean beauty, DIY masks, fragrance free
- reviews beauty products: swatches, product haul, empties, dupes

## camping | goes camping | 36 0.70 0.60
nouns: tent pegs, campfire, sleeping bag, camp stove, cooler, firewood, campsite, headlamp, s'mores, marshmallows
lines: rain all night but we stayed dry; the stars out there are unreal; forgot the tent poles, slept in the car
- lives in a van: van build, solar setup, boondocking, stealth parking
- goes car camping with family: family tent, kids sleeping bags, campground, lantern
- does bushcraft: fire steel, shelter building, tarp, foraging
- tows a caravan: caravan park, awning, towbar, hookup
- camps in winter: snow stakes, four season tent, hot water bottle, frost

## surfing | surfs | 30 0.85 0.70
nouns: swell, wetsuit, longboard, paddle out, lineup, tides, wax, barrel, reef break, offshore wind
lines: dawn patrol was glassy and empty; got worked on the inside for twenty minutes; the swell finally showed up
- rides big waves: tow in, jetski, impact zone, heavy sets
- surfs in cold water: hood, booties, 5mm suit, winter swells
- shapes boards: foam blank, planer, fin boxes, glassing
- teaches beginners to surf: foamies, whitewater, pop up drills, surf camp
- travels for surf trips: boat trip, indonesia, surf camp, reef passes

## skiing | skis | 37 0.80 0.60
nouns: powder day, chairlift, lift pass, moguls, apres, ski boots, black run, piste map, gondola, fresh tracks
lines: first chair on a powder day is pure joy; my thighs are burning after the bumps; the lift queue was forty minutes
- skis backcountry: skins, touring bindings, avalanche course, uphill
- snowboards: halfpipe, bindings, terrain park, sidecountry
- races slalom: gates, race suit, timing, coaching
- works a season at a resort: seasonaire, staff pass, chalet host, liftie
- takes kids to ski school: snowplough, magic carpet, little ones, ski lessons

## politics | follows politics closely | 48 0.40 0.55
nouns: election, polling, debate, parliament, campaign, ballot, senator, legislation, policy, town hall
lines: the debate last night was a circus; the polling numbers moved a lot this week; wrote to my representative again
- volunteers for political campaigns: canvassing, phone bank, flyers, doorknocking
- follows local council meetings: zoning, budget hearings, public comment, councillors
- follows international relations: diplomacy, sanctions, summits, treaties
- listens to political podcasts: hosts, episodes, guest interviews, hot takes
- works in government: civil service, briefings, ministry, policy memos

## rpg | plays tabletop role-playing games | 29 0.25 0.75
nouns: dungeon master, dice bag, d20, character sheet, campaign, session zero, initiative, homebrew, player characters, critical hit
lines: my players completely skipped the dungeon I prepped; natural 20 at the worst possible moment; session ran four hours over
- runs a campaign as game master: prep, NPCs, maps, worldbuilding
- plays Dungeons and Dragons online: roll20, discord voice, virtual tabletop, bots
- paints figures for the table: primer, minis, bases, brush
- plays horror role-playing: call of cthulhu, sanity, investigators, ancient gods
- writes adventures: module, encounters, statblocks, layout
"""

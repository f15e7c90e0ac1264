"""Domains 1-25 of the synthetic interest lexicon (hiking … teacher); ``uue.data.topics`` joins the parts, in order."""

DOMAINS_1 = """
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

"""

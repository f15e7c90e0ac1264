"""Domains 26-50 of the synthetic interest lexicon (dogs … rpg); ``uue.data.topics`` joins the parts, in order."""

DOMAINS_2 = """## dogs | owns a dog | 38 0.70 0.50
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
